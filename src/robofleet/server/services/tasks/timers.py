"""Time-driven task moves, run by the scheduler leader:

- Postponed -> New when its time comes;
- an expired lease -> Failed (Application) (the taker died or hung), then the retry rule;
- New or In Progress too long -> Abandoned, per the queue's limits, then the retry rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from robofleet.server.db import task_statements as statements
from robofleet.server.db.system_actors import SCHEDULER, SCHEDULER_TASK_TIMERS
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.runtime import Runtime
from robofleet.server.services.tasks.state import Change, change_task_status, promote_overdue

BATCH = 500


def promote_overdue_tasks(runtime: Runtime, *, now: datetime) -> int:
    with runtime.db.write(actor=SCHEDULER_TASK_TIMERS) as session:
        return promote_overdue(session, now)


def release_postponed(runtime: Runtime, *, now: datetime) -> int:
    with runtime.db.write(actor=SCHEDULER_TASK_TIMERS) as session:
        rows = statements.postponed_due(session, now, BATCH)
        for task, queue in rows:
            change_task_status(
                session,
                task,
                queue,
                TaskStatus.NEW,
                Change(SCHEDULER.name, "postponed time reached"),
                now=now,
            )
        return len(rows)


def expire_leases(runtime: Runtime, *, now: datetime) -> int:
    with runtime.db.write(actor=SCHEDULER_TASK_TIMERS) as session:
        rows = statements.leases_expired(session, now, BATCH)
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
                Change(SCHEDULER.name, "lease expired"),
                now=now,
            )
        return len(rows)


def abandon_overdue(runtime: Runtime, *, now: datetime) -> int:
    moved = 0
    with runtime.db.write(actor=SCHEDULER_TASK_TIMERS) as session:
        for queue in statements.queues_with_abandon_limits(session):
            limits = (
                (TaskStatus.NEW, queue.abandon_new_minutes),
                (TaskStatus.IN_PROGRESS, queue.abandon_in_progress_minutes),
            )
            for status, minutes in limits:
                if not minutes:
                    continue
                before = now - timedelta(minutes=minutes)
                tasks = statements.stale_tasks(session, queue.id, status, before, BATCH)
                for task in tasks:
                    task.error_type = "Abandoned"
                    task.error_message = f"{status.label} for more than {minutes} minutes"
                    change_task_status(
                        session,
                        task,
                        queue,
                        TaskStatus.ABANDONED,
                        Change(SCHEDULER.name, task.error_message),
                        now=now,
                    )
                moved += len(tasks)
    return moved
