"""The audit trail and the scheduler's leader lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.server.db.base import Base, IdType, utcnow
from robofleet.server.domain.refs import new_guid

FAILED_LOGIN = "action = 'login_failed'"


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_account_at", "account_id", "at"),
        Index("ix_audit_log_object", "object_guid"),
        # Failed logins by login name and by address: the brute-force limit counts them.
        Index(
            "ix_audit_log_failed_logins",
            "actor_name",
            "at",
            sqlite_where=text(FAILED_LOGIN),
            postgresql_where=text(FAILED_LOGIN),
        ),
        Index(
            "ix_audit_log_failed_login_addresses",
            "address",
            "at",
            sqlite_where=text(FAILED_LOGIN),
            postgresql_where=text(FAILED_LOGIN),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    account_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_guid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(256), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(32), index=True)
    object_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    object_guid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")


class SchedulerLeaseRow(Base):
    """One row per singleton duty; the node holding an unexpired lease is its leader."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column()
