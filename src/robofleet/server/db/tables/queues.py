"""Queues, tasks and the history of each task's status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.contract import TaskStatus
from robofleet.server.db.base import (
    Base,
    FolderScoped,
    GuidType,
    IdType,
    JsonType,
    SoftDelete,
    TenantEntity,
    live_unique,
    utcnow,
)

NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
DELETED_TASKS = "is_deleted = true"
"""The predicate of ix_tasks_deleted, written the same on both stores so a query naming it
(db.status_counts) uses the index on each."""
"""Sort key of a task without a deadline: after every real deadline, on both stores."""


def rank_of(priority: int) -> int:
    """Take order key of a priority (1 Low .. 3 High): High gets 1, taken first."""
    return 4 - priority


class QueueRow(TenantEntity, SoftDelete, FolderScoped):
    __tablename__ = "queues"
    __audit_entity__ = "queue"
    __table_args__ = (live_unique("uq_queues_name_live", "account_id", "name"),)

    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    unique_tasks: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_change_status: Mapped[bool] = mapped_column(Boolean, default=False)
    abandon_new_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    abandon_in_progress_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    retry_application: Mapped[bool] = mapped_column(Boolean, default=False)
    retry_business: Mapped[bool] = mapped_column(Boolean, default=False)
    retry_abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    max_retries: Mapped[int] = mapped_column(Integer, default=0)
    retry_delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    lease_seconds: Mapped[int] = mapped_column(Integer, default=300)


def _sparse_index(name: str, *columns: str, unique: bool = False) -> Index:
    """An index of the rows whose last column is set."""
    present = text(f"{columns[-1]} IS NOT NULL")
    return Index(name, *columns, unique=unique, sqlite_where=present, postgresql_where=present)


class TaskRow(Base):
    """Written in bulk and at high rates, so it carries its own history instead of the audit
    log, and the columns the take query orders by."""

    __tablename__ = "tasks"
    __table_args__ = (
        # The take query: New tasks of a queue, best priority, nearest deadline, oldest.
        Index(
            "ix_tasks_take",
            "queue_id",
            "rank",
            "deadline_key",
            "id",
            # Queries spell `status = 0` literally (db.base.literal_int) so SQLite uses it too.
            sqlite_where=text(f"status = {int(TaskStatus.NEW)}"),
            postgresql_where=text(f"status = {int(TaskStatus.NEW)}"),
        ),
        Index("ix_tasks_queue_status", "queue_id", "status"),
        # Only deleted tasks (few): live counts are all tasks (ix_tasks_queue_status) minus
        # these, both read from an index alone (db.status_counts).
        Index(
            "ix_tasks_deleted",
            "queue_id",
            "status",
            sqlite_where=text(DELETED_TASKS),
            postgresql_where=text(DELETED_TASKS),
        ),
        # Finding New tasks whose deadline has just passed (services.tasks.state).
        Index(
            "ix_tasks_deadline",
            "deadline_key",
            sqlite_where=text(f"status = {int(TaskStatus.NEW)}"),
            postgresql_where=text(f"status = {int(TaskStatus.NEW)}"),
        ),
        Index(
            "ix_tasks_lease",
            "lease_expires_at",
            sqlite_where=text(f"status = {int(TaskStatus.IN_PROGRESS)}"),
            postgresql_where=text(f"status = {int(TaskStatus.IN_PROGRESS)}"),
        ),
        Index(
            "ix_tasks_postponed",
            "postponed_until",
            sqlite_where=text(f"status = {int(TaskStatus.POSTPONED)}"),
            postgresql_where=text(f"status = {int(TaskStatus.POSTPONED)}"),
        ),
        # Sparse: every take and finish rewrites the row, and a rewritten row enters every
        # index it qualifies for; most tasks have no job, robot lease or key. The lookups
        # are by equality, which implies IS NOT NULL on both stores (migration 0015).
        _sparse_index("ix_tasks_job", "job_id"),
        _sparse_index("ix_tasks_lease_robot_id", "lease_robot_id"),
        Index("ix_tasks_account_name", "account_id", "name"),
        # Unique task names, atomically: unique_name is the name when the queue demands it
        # (sparse, as ix_tasks_job: migration 0016).
        _sparse_index("uq_tasks_queue_unique_name", "queue_id", "unique_name", unique=True),
        # A retried add finds the task its first attempt added (services.tasks.idempotency).
        _sparse_index("ix_tasks_idempotency_key", "account_id", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(GuidType, unique=True)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id"))
    queue_id: Mapped[int] = mapped_column(IdType, ForeignKey("queues.id"))
    name: Mapped[str] = mapped_column(String(512))
    unique_name: Mapped[str | None] = mapped_column(String(512), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[Any | None] = mapped_column(JsonType, nullable=True)
    error_type: Mapped[str] = mapped_column(String(64), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    error_details: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=2)
    # Take order key: 4 - priority (High first), 3 lower once the deadline has passed.
    rank: Mapped[int] = mapped_column(Integer, default=2)
    tags: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[int] = mapped_column(Integer, default=int(TaskStatus.NEW))
    postponed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(nullable=True)
    deadline_key: Mapped[datetime] = mapped_column(default=NO_DEADLINE)
    job_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    parent_task_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    lease_id: Mapped[str | None] = mapped_column(GuidType, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_robot_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    lease_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The lease whose finish put the task in its current status (cleared by any other move):
    # a finish retried after a lost answer is recognised by it (services.tasks.leases).
    finish_lease_id: Mapped[str | None] = mapped_column(GuidType, nullable=True)
    # The client's key of the add that created the task, and a digest of what that add
    # asked for: a retried add answers with this task (services.tasks.idempotency).
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskEventRow(Base):
    """One status change of a task: from, to, by whom, when, why."""

    __tablename__ = "task_events"
    __table_args__ = (Index("ix_task_events_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(IdType)
    task_id: Mapped[int] = mapped_column(IdType)
    from_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_status: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


TASK_TABLE = cast(Table, TaskRow.__table__)
"""The tasks table for Core statements on the hot paths (no ORM unit of work)."""
