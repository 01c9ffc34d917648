"""Processes, their versions (packages), and jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.contract import JobStatus
from robofleet.server.db.base import (
    FolderScoped,
    IdType,
    JsonType,
    SoftDelete,
    TenantEntity,
    live_unique,
)


class ProcessRow(TenantEntity, SoftDelete, FolderScoped):
    __tablename__ = "processes"
    __audit_entity__ = "process"
    __table_args__ = (live_unique("uq_processes_name_live", "account_id", "name"),)

    name: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text, default="")
    min_version_to_run: Mapped[str] = mapped_column(String(32), default="")
    process_type: Mapped[int] = mapped_column(Integer, default=0)
    available_in_assistant: Mapped[bool] = mapped_column(Boolean, default=False)
    # No foreign key: versions point at their process, and a cycle would complicate every
    # migration; services.processes.make_current keeps the link valid.
    current_version_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    # Set when a version was made current by hand: later uploads then do not replace it.
    version_pinned: Mapped[bool] = mapped_column(Boolean, default=False)


class ProcessVersionRow(TenantEntity, SoftDelete):
    __tablename__ = "process_versions"
    __audit_entity__ = "process_version"

    process_id: Mapped[int] = mapped_column(IdType, ForeignKey("processes.id"), index=True)
    name: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    entry_point: Mapped[str] = mapped_column(String(1024))
    requirements: Mapped[str] = mapped_column(String(512), default="")


_PICKABLE = f"status = {int(JobStatus.PENDING)} AND claimed_at IS NULL"
_PICKABLE_SQLITE = f"{_PICKABLE} AND is_deleted = 0"
_PICKABLE_POSTGRESQL = f"{_PICKABLE} AND NOT is_deleted"
"""ix_jobs_pick's rows. The pick's WHERE (db.claims.eligible_pending) names each term as
written here (the status a literal, `is_deleted = 0` as SQLite renders `false()`): SQLite
uses a partial index only when every term of its WHERE appears in the query's."""


class JobRow(TenantEntity, SoftDelete):
    __tablename__ = "jobs"
    __audit_entity__ = "job"
    __table_args__ = (
        # The job pick's index, in the take order, follows the class: it names its columns.
        Index("ix_jobs_robot_status", "robot_id", "status"),
        Index("ix_jobs_status_changed", "status", "status_changed_at"),
        Index("ix_jobs_account_created", "account_id", "created_at"),
    )

    process_id: Mapped[int] = mapped_column(IdType, ForeignKey("processes.id"), index=True)
    process_version_id: Mapped[int] = mapped_column(IdType, ForeignKey("process_versions.id"))
    # The robot running (or about to run) the job, as Sherpa shows it.
    robot_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("robots.id"), nullable=True)
    # What the job was created for: one robot, one group, or (both empty) any robot.
    requested_robot_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("robots.id"), nullable=True
    )
    robot_group_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("robot_groups.id"), nullable=True
    )
    task_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    schedule_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    status: Mapped[int] = mapped_column(Integer, default=int(JobStatus.PENDING))
    source: Mapped[str] = mapped_column(String(16), default="API")
    priority: Mapped[int] = mapped_column(Integer, default=2)
    job_type: Mapped[int] = mapped_column(Integer, default=1)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stop_after: Mapped[datetime | None] = mapped_column(nullable=True)
    abort_after: Mapped[datetime | None] = mapped_column(nullable=True)
    # Progress and messages arrive many times per run; the audit log keeps to the outcome.
    progress: Mapped[int] = mapped_column(Integer, default=0, info={"audit": False})
    return_value: Mapped[Any | None] = mapped_column(JsonType, nullable=True)
    last_message: Mapped[str] = mapped_column(Text, default="", info={"audit": False})
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The package the robot was given when it took the job: a version's package may be
    # replaced later, and the job keeps (and may still download) the one it started with.
    package_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Deleted through Roboteasy's API after it ended: gone from that API, kept in history.
    roboteasy_hidden: Mapped[bool] = mapped_column(Boolean, default=False)


# The job pick (db.claims.next_job_for_robot): the account's pending, untaken, live jobs in
# the take order, best priority then oldest, so the pick stops at the first row it may take
# instead of sorting them all (migration 0013).
Index(
    "ix_jobs_pick",
    JobRow.account_id,
    JobRow.priority.desc(),
    JobRow.id,
    sqlite_where=text(_PICKABLE_SQLITE),
    postgresql_where=text(_PICKABLE_POSTGRESQL),
)
