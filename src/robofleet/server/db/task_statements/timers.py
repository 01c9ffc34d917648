"""Time-driven moves the scheduler makes on tasks, and the queue counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from robofleet.contract import TaskStatus
from robofleet.server.db.base import literal_int
from robofleet.server.db.tables import QueueRow, TaskRow
from robofleet.server.db.tables.queues import NO_DEADLINE
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.db.task_statements.records import (
    IN_PROGRESS,
    NEW,
)
from robofleet.server.db.unindexed import unindexed


def _accounts() -> ColumnElement[int]:
    """Each account's due tasks are found by the partial index of their status (its constant
    written into the SQL: literal_int), never by walking the account's tasks (unindexed)."""
    return unindexed(TASKS.c.account_id)


def _of_account(account_id: int) -> ColumnElement[bool]:
    return _accounts() == account_id


# Time-driven moves (scheduler)


def _overdue_new() -> list[ColumnElement[bool]]:
    return [
        TASKS.c.status == literal_int(TaskStatus.NEW),
        TASKS.c.rank >= 1,
        TASKS.c.deadline_key < NO_DEADLINE,
    ]


def accounts_with_overdue_new(session: Session, now: datetime) -> list[int]:
    """Accounts that have New tasks whose deadline has passed and are not yet promoted."""
    query = select(_accounts()).where(*_overdue_new(), TASKS.c.deadline_key <= now)
    return list(session.scalars(query.distinct()))


def promote_overdue(session: Session, now: datetime, shift: int, account_id: int) -> int:
    """New tasks of the account whose deadline has passed: rank lowered by `shift`; how
    many."""
    result = session.execute(
        update(TASKS)
        .where(*_overdue_new(), TASKS.c.deadline_key <= now, _of_account(account_id))
        .values(rank=TASKS.c.rank - shift)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _postponed_due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        TASKS.c.status == literal_int(TaskStatus.POSTPONED),
        TASKS.c.postponed_until <= now,
        TASKS.c.is_deleted.is_(False),
    ]


def _locked_with_queues(
    session: Session, conditions: list[ColumnElement[bool]], limit: int | None = None
) -> list[tuple[TaskRow, QueueRow]]:
    """The tasks matching `conditions`, locked (the scheduler's timers change them), each
    with its queue."""
    query = (
        select(TaskRow, QueueRow)
        .join(QueueRow, QueueRow.id == TaskRow.queue_id)
        .where(*conditions)
        .with_for_update(of=TaskRow)
    )
    if limit is not None:
        query = query.limit(limit)
    return [(task, queue) for task, queue in session.execute(query)]


def accounts_with_postponed_due(session: Session, now: datetime) -> list[int]:
    """Accounts that have Postponed tasks whose time has come."""
    return list(session.scalars(select(_accounts()).where(*_postponed_due(now)).distinct()))


def postponed_due(
    session: Session, now: datetime, limit: int, account_id: int
) -> list[tuple[TaskRow, QueueRow]]:
    """Postponed tasks of the account whose time has come, locked, with their queues."""
    conditions = [*_postponed_due(now), _of_account(account_id)]
    return _locked_with_queues(session, conditions, limit)


def _lease_expired(now: datetime) -> list[ColumnElement[bool]]:
    return [
        TASKS.c.status == literal_int(TaskStatus.IN_PROGRESS),
        TASKS.c.lease_expires_at < now,
    ]


def accounts_with_expired_leases(session: Session, now: datetime) -> list[int]:
    """Accounts that have In Progress tasks whose lease has expired."""
    return list(session.scalars(select(_accounts()).where(*_lease_expired(now)).distinct()))


def leases_expired(
    session: Session, now: datetime, limit: int, account_id: int
) -> list[tuple[TaskRow, QueueRow]]:
    """In Progress tasks of the account whose lease has expired, locked, with their queues."""
    conditions = [*_lease_expired(now), _of_account(account_id)]
    return _locked_with_queues(session, conditions, limit)


def queues_with_abandon_limits(session: Session) -> list[tuple[int, str, int]]:
    """(id, GUID, account id) of live queues that abandon New or In Progress tasks after some
    minutes and hold tasks in those statuses. Only ids: the limits themselves are read per
    queue (queue_with_abandon_limits), so one bad value fails its queue alone."""
    live = (
        select(TaskRow.id)
        .where(
            TaskRow.queue_id == QueueRow.id,
            TaskRow.status.in_([NEW, IN_PROGRESS]),
            TaskRow.is_deleted.is_(False),
        )
        .exists()
    )
    rows = session.execute(
        select(QueueRow.id, QueueRow.guid, QueueRow.account_id).where(
            QueueRow.is_deleted.is_(False),
            (QueueRow.abandon_new_minutes.is_not(None))
            | (QueueRow.abandon_in_progress_minutes.is_not(None)),
            live,
        )
    )
    return [(row.id, row.guid, row.account_id) for row in rows]


def queue_with_abandon_limits(session: Session, queue_id: int) -> QueueRow | None:
    """The live queue, if it still has an abandon limit."""
    return session.scalar(
        select(QueueRow).where(
            QueueRow.id == queue_id,
            QueueRow.is_deleted.is_(False),
            (QueueRow.abandon_new_minutes.is_not(None))
            | (QueueRow.abandon_in_progress_minutes.is_not(None)),
        )
    )


def stale_tasks(
    session: Session, queue_id: int, status: TaskStatus, before: datetime, limit: int
) -> Sequence[TaskRow]:
    """Tasks of the queue in `status` since before `before` (New: since their last status
    change; In Progress: since they started), locked."""
    since = TaskRow.started_at if status == TaskStatus.IN_PROGRESS else TaskRow.status_changed_at
    return session.scalars(
        select(TaskRow)
        .where(
            TaskRow.queue_id == queue_id,
            TaskRow.status == int(status),
            TaskRow.is_deleted.is_(False),
            since < before,
        )
        .limit(limit)
        .with_for_update()
    ).all()


def failing_with_job(job_id: ColumnElement[int] | int) -> list[ColumnElement[bool]]:
    """The tasks a job's failure fails (with their queues joined): In Progress, of the job,
    in queues whose tasks change status with their job. db.job_statements' lean report holds
    back where one exists."""
    return [
        TASKS.c.job_id == job_id,
        TASKS.c.status == literal_int(IN_PROGRESS),
        QueueRow.auto_change_status.is_(True),
    ]


def in_progress_of_job(session: Session, job_id: int) -> list[tuple[TaskRow, QueueRow]]:
    """In Progress tasks of a job in queues that change status with the job, locked."""
    return _locked_with_queues(session, failing_with_job(job_id))


# Queue counts


def counts_by_status(session: Session, queue_ids: list[int]) -> list[tuple[int, int, int]]:
    """(queue id, status, tasks) of the live tasks of the queues."""
    rows = session.execute(
        select(TaskRow.queue_id, TaskRow.status, func.count())
        .where(TaskRow.queue_id.in_(queue_ids), TaskRow.is_deleted.is_(False))
        .group_by(TaskRow.queue_id, TaskRow.status)
    )
    return [(queue_id, status, count) for queue_id, status, count in rows]


def in_progress_count(session: Session, queue_id: int) -> int:
    """Live tasks of the queue In Progress."""
    return (
        session.scalar(
            select(func.count())
            .select_from(TaskRow)
            .where(
                TaskRow.queue_id == queue_id,
                TaskRow.status == int(TaskStatus.IN_PROGRESS),
                TaskRow.is_deleted.is_(False),
            )
        )
        or 0
    )
