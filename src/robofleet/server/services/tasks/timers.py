"""Time-driven task moves, run by the scheduler leader:

- Postponed -> New when its time comes;
- an expired lease -> Failed (Application) (the taker died or hung), then the retry rule;
- New or In Progress too long -> Abandoned, per the queue's limits, then the retry rule.

Each move is two public functions: one lists the owners with work due (services.scheduled),
the other runs for one owner in its own transaction, so a bad row fails its owner alone.
"""

from __future__ import annotations

from datetime import datetime

from robofleet.server.db import task_statements as statements
from robofleet.server.db.system_actors import SCHEDULER, SCHEDULER_TASK_TIMERS
from robofleet.server.domain.tasks import TaskStatus, abandon_cutoff
from robofleet.server.runtime import Runtime
from robofleet.server.services.scheduled import Owner, account_guids, account_owners
from robofleet.server.services.tasks.state import Change, change_task_status, promote_overdue

BATCH = 500


def accounts_with_overdue_tasks(runtime: Runtime, *, now: datetime) -> list[Owner]:
    with runtime.db.read() as session:
        return account_owners(session, statements.accounts_with_overdue_new(session, now))


def promote_overdue_tasks(runtime: Runtime, *, now: datetime, account_id: int) -> int:
    with runtime.db.write(actor=SCHEDULER_TASK_TIMERS) as session:
        return promote_overdue(session, now, account_id)


def accounts_with_postponed_due(runtime: Runtime, *, now: datetime) -> list[Owner]:
    with runtime.db.read() as session:
        return account_owners(session, statements.accounts_with_postponed_due(session, now))


def release_postponed(runtime: Runtime, *, now: datetime, account_id: int) -> int:
    with runtime.db.write(actor=SCHEDULER_TASK_TIMERS) as session:
        rows = statements.postponed_due(session, now, BATCH, account_id)
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


def accounts_with_expired_leases(runtime: Runtime, *, now: datetime) -> list[Owner]:
    with runtime.db.read() as session:
        return account_owners(session, statements.accounts_with_expired_leases(session, now))


def expire_leases(runtime: Runtime, *, now: datetime, account_id: int) -> int:
    with runtime.db.write(actor=SCHEDULER_TASK_TIMERS) as session:
        rows = statements.leases_expired(session, now, BATCH, account_id)
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


def queues_with_abandon_limits(runtime: Runtime) -> list[Owner]:
    """Per queue, not per account: the limits that can be bad are the queue's own."""
    with runtime.db.read() as session:
        queues = statements.queues_with_abandon_limits(session)
        accounts = account_guids(session, (account_id for _, _, account_id in queues))
    return [
        Owner(id=queue_id, label=f"queue {guid} of account {accounts.get(account_id, '?')}")
        for queue_id, guid, account_id in queues
    ]


def abandon_overdue(runtime: Runtime, *, now: datetime, queue_id: int) -> int:
    moved = 0
    with runtime.db.write(actor=SCHEDULER_TASK_TIMERS) as session:
        queue = statements.queue_with_abandon_limits(session, queue_id)
        if queue is None:
            return 0
        limits = (
            (TaskStatus.NEW, queue.abandon_new_minutes),
            (TaskStatus.IN_PROGRESS, queue.abandon_in_progress_minutes),
        )
        for status, minutes in limits:
            before = abandon_cutoff(now, minutes)
            if before is None:
                continue
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
