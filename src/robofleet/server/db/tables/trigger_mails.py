"""The mails an e-mail trigger has taken, so that each mail makes at most one job.

IMAP marks a taken mail \\Seen, but only after the job is committed, and a trigger may be set
to read all mails, not only unread ones; POP3 has no flags at all. So the trigger remembers
each mail it took (by its Message-ID's sha256), in the same transaction as the fire and the
job: a mail is taken once, whatever the mailbox's flags say."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.server.db.base import Base, IdType, utcnow


class TriggerMailRow(Base):
    __tablename__ = "trigger_mails"
    __table_args__ = (UniqueConstraint("trigger_id", "mail_key", name="uq_trigger_mails_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    trigger_id: Mapped[int] = mapped_column(IdType, ForeignKey("triggers.id"))
    mail_key: Mapped[str] = mapped_column(String(64))
    """sha256 hex of the mail's Message-ID (domain.mail_conditions.mail_key)."""
    fire_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("trigger_fires.id"), nullable=True
    )
    """The fire that took it."""
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
