"""The default task a trigger gives the job it creates: the next New task of its queue (with
all the condition's tags), left New or taken In Progress for the job as configured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.dialect import dialect_of
from robofleet.server.db.tables import JobRow, QueueRow, TaskRow, TriggerRow
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.services.tasks.state import Change, change_task_status
from robofleet.server.services.triggers.rules import LIVE_FOR_CAP


@dataclass(frozen=True)
class QueueCondition:
    """`queue_condition` (COMMON keys), with the defaults filled in."""

    min_new_tasks: int = 0
    tags: tuple[str, ...] = ()
    tasks_per_job: int = 1
    take_status: str = "InProgress"
    finish_when_empty: bool = False
    default_task: bool = True

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> QueueCondition:
        raw = raw or {}
        return cls(
            min_new_tasks=max(0, int(raw.get("min_new_tasks", 0) or 0)),
            tags=tuple(str(t) for t in raw.get("tags") or ()),
            tasks_per_job=max(1, int(raw.get("tasks_per_job", 1) or 1)),
            take_status=str(raw.get("take_status") or "InProgress"),
            finish_when_empty=bool(raw.get("finish_when_empty", False)),
            default_task=bool(raw.get("default_task", True)),
        )


def _open_tasks(trigger: TriggerRow, condition: QueueCondition) -> list[ColumnElement[bool]]:
    """New tasks of the watched queue with every tag, not already the default task of one
    of the trigger's live jobs (a task left New stays spoken for until its job ends)."""
    assert trigger.queue_id is not None
    tags = ";".join(f"+{tag}" for tag in condition.tags) or None
    reserved = select(JobRow.task_id).where(
        JobRow.schedule_id == trigger.id,
        JobRow.status.in_(LIVE_FOR_CAP),
        JobRow.task_id.is_not(None),
    )
    return [
        *statements.filter_conditions(trigger.queue_id, tags=tags),
        TaskRow.status == int(TaskStatus.NEW),
        TaskRow.id.not_in(reserved.scalar_subquery()),
    ]


def count_new(session: Session, trigger: TriggerRow, condition: QueueCondition) -> int:
    """How many New tasks the queue condition counts."""
    return (
        session.scalar(
            select(func.count()).select_from(TaskRow).where(*_open_tasks(trigger, condition))
        )
        or 0
    )


def pick_task(session: Session, trigger: TriggerRow, condition: QueueCondition) -> TaskRow | None:
    """The next New task in take order, locked (skipped by concurrent takers on PostgreSQL)."""
    query: Select[Any] = statements.take_order(
        select(TaskRow).where(*_open_tasks(trigger, condition)).limit(1)
    )
    found: TaskRow | None = session.scalar(dialect_of(session).for_claim(query))
    return found


def hand_over(
    session: Session,
    trigger: TriggerRow,
    condition: QueueCondition,
    task: TaskRow,
    job: JobRow,
    now: datetime,
) -> None:
    """The task becomes the job's default task; taken In Progress for it if so configured
    (without a lease: the job holds it, and its end fails it where the queue says)."""
    if condition.take_status != "InProgress":
        return
    queue = session.get(QueueRow, task.queue_id)
    assert queue is not None
    change_task_status(
        session,
        task,
        queue,
        TaskStatus.IN_PROGRESS,
        Change(f"trigger {trigger.name}", f"taken for job {job.guid}"),
        now=now,
    )
    task.job_id = job.id
