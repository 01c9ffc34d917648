"""The one guarded function through which every task changes status, with its history and
the queue's retry rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import JobRow, QueueRow, TaskEventRow, TaskRow
from robofleet.server.domain.refs import new_guid
from robofleet.server.domain.tasks import FAILURES, TaskStatus, check_transition


@dataclass(frozen=True)
class Change:
    """Who moves a task and why, recorded in its history."""

    actor: str
    reason: str = ""
    manual: bool = False


def record(
    session: Session,
    task: TaskRow,
    from_status: TaskStatus | None,
    to_status: TaskStatus,
    change: Change,
    now: datetime,
) -> None:
    session.execute(
        insert(TaskEventRow),
        [
            {
                "account_id": task.account_id,
                "task_id": task.id,
                "from_status": None if from_status is None else int(from_status),
                "to_status": int(to_status),
                "actor": change.actor[:300],
                "reason": change.reason,
                "at": now,
            }
        ],
    )


def change_task_status(
    session: Session,
    task: TaskRow,
    queue: QueueRow,
    status: TaskStatus,
    change: Change,
    *,
    now: datetime | None = None,
) -> TaskRow | None:
    """Move `task` to `status` if allowed; returns the retry task the queue's rule created."""
    now = now or utcnow()
    current = TaskStatus(task.status)
    check_transition(current, status, manual=change.manual)
    task.status = int(status)
    task.status_changed_at = now
    task.updated_at = now
    if status != TaskStatus.IN_PROGRESS:
        task.lease_id = task.lease_owner = None
        task.lease_robot_id = task.lease_seconds = task.lease_expires_at = None
    if status == TaskStatus.IN_PROGRESS:
        task.started_at = now
    elif status in (TaskStatus.SUCCESS, *FAILURES):
        task.finished_at = now
    if status != TaskStatus.POSTPONED:
        task.postponed_until = None
    record(session, task, current, status, change, now)
    if status in FAILURES and not change.manual:
        return _retry(session, task, queue, status, now)
    return None


def _retry(
    session: Session, task: TaskRow, queue: QueueRow, status: TaskStatus, now: datetime
) -> TaskRow | None:
    """A new task linked to the failed one, when the queue retries this kind of failure.
    The failed task keeps its status, as Sherpa and UiPath do."""
    wanted = {
        TaskStatus.FAILED_APPLICATION: queue.retry_application,
        TaskStatus.FAILED_BUSINESS: queue.retry_business,
        TaskStatus.ABANDONED: queue.retry_abandoned,
    }[status]
    if not wanted or task.retries >= queue.max_retries:
        return None
    delayed = queue.retry_delay_seconds > 0
    child = TaskRow(
        guid=new_guid(),
        account_id=task.account_id,
        queue_id=task.queue_id,
        name=task.name,
        unique_name=None,
        description=task.description,
        comment=task.comment,
        parameters=task.parameters,
        priority=task.priority,
        rank=task.rank,
        tags=task.tags,
        deadline=task.deadline,
        deadline_key=task.deadline_key,
        retries=task.retries + 1,
        parent_task_id=task.id,
        status=int(TaskStatus.POSTPONED if delayed else TaskStatus.NEW),
        postponed_until=now + timedelta(seconds=queue.retry_delay_seconds) if delayed else None,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(child)
    session.flush()
    record(
        session,
        child,
        None,
        TaskStatus(child.status),
        Change("queue retry rule", f"retry {child.retries} of {task.guid} ({status.label})"),
        now,
    )
    return child


def fail_tasks_of_job(
    session: Session, job: JobRow, job_outcome: str, now: datetime | None = None
) -> int:
    """A job ended Failed/Stopped/Aborted: its In Progress tasks fail, where the queue says."""
    rows = session.execute(
        select(TaskRow, QueueRow)
        .join(QueueRow, QueueRow.id == TaskRow.queue_id)
        .where(
            TaskRow.job_id == job.id,
            TaskRow.status == int(TaskStatus.IN_PROGRESS),
            QueueRow.auto_change_status.is_(True),
        )
        .with_for_update(of=TaskRow)
    ).all()
    for task, queue in rows:
        task.error_type = "JobEnded"
        task.error_message = f"job {job.guid} ended {job_outcome}"
        change_task_status(
            session,
            task,
            queue,
            TaskStatus.FAILED_APPLICATION,
            Change("queue auto change status", f"job ended {job_outcome}"),
            now=now,
        )
    return len(rows)
