"""Robot messages (Sherpa's Log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.contract import LogLevel
from robofleet.server.db.base import Base, IdType, utcnow
from robofleet.server.domain.refs import new_guid


class LogRow(Base):
    """Log lines are written in bulk by robots; no soft delete, no audit, purged by age."""

    __tablename__ = "logs"
    # Every index costs each of thousands of lines a second (measured in
    # bench/log_ingestion.py), so there are few: by job (a job's log), by robot, by time (a
    # BRIN on PostgreSQL: lines arrive in time order, and it costs almost nothing to keep), and
    # screenshots only on the rare lines that have one.
    __table_args__ = (
        Index("ix_logs_job", "job_id", "id"),
        Index("ix_logs_created", "created_at", postgresql_using="brin"),
        # Retention asks whether another line still shows a screenshot before deleting it.
        Index(
            "ix_logs_screenshot",
            "screenshot_sha256",
            sqlite_where=text("screenshot_sha256 IS NOT NULL"),
            postgresql_where=text("screenshot_sha256 IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    account_id: Mapped[int] = mapped_column(IdType)
    robot_id: Mapped[int | None] = mapped_column(IdType, nullable=True, index=True)
    process_version_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    job_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    level: Mapped[str] = mapped_column(String(16), default=LogLevel.INFO.value)
    message: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The line's screenshot in the blob store (content-addressed: lines may share one)."""
    screenshot_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
