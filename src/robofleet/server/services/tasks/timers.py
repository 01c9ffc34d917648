"""Time-driven task moves, run by the scheduler leader:

- Postponed -> New when its time comes;
- an expired lease -> Failed (Application) (the taker died or hung), then the retry rule;
- New or In Progress too long -> Abandoned, per the queue's limits, then the retry rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from robofleet.server.db.session import Database
from robofleet.server.db.tables import QueueRow, TaskRow
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.services.tasks.state import Change, change_task_status, promote_overdue

BATCH = 500
SCHEDULER = "scheduler"


def promote_overdue_tasks(db: Database, *, now: datetime) -> int:
    with db.write() as session:
        return promote_overdue(session, now)


def release_postponed(db: Database, *, now: datetime) -> int:
    with db.write() as session:
        rows = session.execute(
            select(TaskRow, QueueRow)
            .join(QueueRow, QueueRow.id == TaskRow.queue_id)
            .where(
                TaskRow.status == int(TaskStatus.POSTPONED),
                TaskRow.postponed_until <= now,
                TaskRow.is_deleted.is_(False),
            )
            .limit(BATCH)
            .with_for_update(of=TaskRow)
        ).all()
        for task, queue in rows:
            change_task_status(
                session,
                task,
                queue,
                TaskStatus.NEW,
                Change(SCHEDULER, "postponed time reached"),
                now=now,
            )
        return len(rows)


def expire_leases(db: Database, *, now: datetime) -> int:
    with db.write() as session:
        rows = session.execute(
            select(TaskRow, QueueRow)
            .join(QueueRow, QueueRow.id == TaskRow.queue_id)
            .where(TaskRow.status == int(TaskStatus.IN_PROGRESS), TaskRow.lease_expires_at < now)
            .limit(BATCH)
            .with_for_update(of=TaskRow)
        ).all()
        for task, queue in rows:
            task.error_type = "LeaseExpired"
            task.error_message = (
                f"the lease of {task.lease_owner} expired at "
                f"{task.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC"
            )
            change_task_status(
                session,
                task,
                queue,
                TaskStatus.FAILED_APPLICATION,
                Change(SCHEDULER, "lease expired"),
                now=now,
            )
        return len(rows)


def abandon_overdue(db: Database, *, now: datetime) -> int:
    moved = 0
    with db.write() as session:
        queues = session.scalars(
            select(QueueRow).where(
                QueueRow.is_deleted.is_(False),
                (QueueRow.abandon_new_minutes.is_not(None))
                | (QueueRow.abandon_in_progress_minutes.is_not(None)),
            )
        ).all()
        for queue in queues:
            limits = (
                (TaskStatus.NEW, queue.abandon_new_minutes, TaskRow.status_changed_at),
                (TaskStatus.IN_PROGRESS, queue.abandon_in_progress_minutes, TaskRow.started_at),
            )
            for status, minutes, since in limits:
                if not minutes:
                    continue
                tasks = session.scalars(
                    select(TaskRow)
                    .where(
                        TaskRow.queue_id == queue.id,
                        TaskRow.status == int(status),
                        TaskRow.is_deleted.is_(False),
                        since < now - timedelta(minutes=minutes),
                    )
                    .limit(BATCH)
                    .with_for_update()
                ).all()
                for task in tasks:
                    task.error_type = "Abandoned"
                    task.error_message = f"{status.label} for more than {minutes} minutes"
                    change_task_status(
                        session,
                        task,
                        queue,
                        TaskStatus.ABANDONED,
                        Change(SCHEDULER, task.error_message),
                        now=now,
                    )
                moved += len(tasks)
    return moved
