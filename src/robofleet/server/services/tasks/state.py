"""The guarded functions through which every task changes status, with its history and the
queue's retry rule. `change_task_status` moves one loaded task; `take_new_tasks` and
`finish_leased_task` are the same moves done as single conditional statements, for the
paths robots hit thousands of times a second."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, select, update
from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.base import literal_int, utcnow
from robofleet.server.db.claims import is_postgres
from robofleet.server.db.tables import JobRow, QueueRow, TaskRow
from robofleet.server.db.tables.queues import NO_DEADLINE, TASK_TABLE, rank_of
from robofleet.server.domain.queue_rules import RetryRules
from robofleet.server.domain.refs import new_guid
from robofleet.server.domain.tasks import FAILURES, TaskStatus, check_transition

TASKS = TASK_TABLE
OVERDUE_SHIFT = 3
"""An overdue task's rank drops below every priority's (High is 1): overdue is taken first,
and keeps its priority order within the overdue ones."""


@dataclass(frozen=True)
class Change:
    """Who moves a task and why, recorded in its history."""

    actor: str
    reason: str = ""
    manual: bool = False


def take_rank(priority: int, deadline: datetime | None, now: datetime) -> int:
    overdue = deadline is not None and deadline <= now
    return rank_of(priority) - (OVERDUE_SHIFT if overdue else 0)


def _event(
    task: Any, from_status: TaskStatus | None, to_status: TaskStatus, change: Change, now: datetime
) -> dict[str, Any]:
    return {
        "account_id": task.account_id,
        "task_id": task.id,
        "from_status": None if from_status is None else int(from_status),
        "to_status": int(to_status),
        "actor": change.actor[:300],
        "reason": change.reason,
        "at": now,
    }


def record(session: Session, events: Sequence[dict[str, Any]]) -> None:
    if events:
        session.execute(statements.insert_events(), list(events))


def change_task_status(
    session: Session,
    task: TaskRow,
    queue: RetryRules,
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
    elif status == TaskStatus.NEW:
        task.rank = take_rank(task.priority, task.deadline, now)
    if status != TaskStatus.POSTPONED:
        task.postponed_until = None
    record(session, [_event(task, current, status, change, now)])
    if status in FAILURES and not change.manual:
        return _retry(session, task, queue, status, now)
    return None


def _retry(
    session: Session, task: Any, queue: RetryRules, status: TaskStatus, now: datetime
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
        rank=take_rank(task.priority, task.deadline, now),
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
    reason = f"retry {child.retries} of {task.guid} ({status.label})"
    record(
        session,
        [_event(child, None, TaskStatus(child.status), Change("queue retry rule", reason), now)],
    )
    return child


@dataclass(frozen=True)
class Lease:
    lease_id: str
    owner: str
    robot_id: int | None
    seconds: int
    job_id: int | None


def take_new_tasks(
    session: Session,
    conditions: list[ColumnElement[bool]] | None,
    *,
    queue_id: int,
    count: int,
    lease: Lease,
    change: Change,
    now: datetime,
) -> list[Row[Any]]:
    """New -> In Progress for up to `count` tasks of a queue in take order, in one
    conditional UPDATE (db.task_statements). `conditions` narrow the pick (filters)."""
    check_transition(TaskStatus.NEW, TaskStatus.IN_PROGRESS, manual=False)
    postgres = is_postgres(session)
    if conditions:
        picked = statements.pick_new([TASKS.c.queue_id == queue_id, *conditions], postgres=postgres)
        statement = statements.take_statement(picked)
    else:
        statement = statements.take_from_queue(postgres)
    rows = list(
        session.execute(
            statement,
            {
                "p_queue_id": queue_id,
                "p_count": count,
                "p_now": now,
                "p_job_id": lease.job_id,
                "p_lease_id": lease.lease_id,
                "p_lease_owner": lease.owner,
                "p_lease_robot_id": lease.robot_id,
                "p_lease_seconds": lease.seconds,
                "p_lease_expires_at": now + timedelta(seconds=lease.seconds),
            },
        )
    )
    rows.sort(key=lambda r: (r.rank, r.deadline_key, r.id))
    record(session, [_event(r, TaskStatus.NEW, TaskStatus.IN_PROGRESS, change, now) for r in rows])
    return rows


@dataclass(frozen=True)
class Finish:
    status: TaskStatus
    output: Any = None
    set_output: bool = False
    error_type: str = ""
    error_message: str = ""
    error_details: str = ""
    postponed_until: datetime | None = None


def finish_leased_tasks(
    session: Session,
    *,
    guids: list[str],
    account_id: int,
    lease_id: str,
    finish: Finish,
    rules: Callable[[int], RetryRules],
    change: Change,
    now: datetime,
) -> list[Row[Any]]:
    """In Progress -> Success/Failed/Postponed for the tasks whose live lease is `lease_id`:
    one conditional UPDATE, so a racing expiry or another taker cannot both win. Returns the
    tasks changed; a task missing from the result had no live lease (and did not change).
    `rules` gives a queue's retry rule."""
    check_transition(TaskStatus.IN_PROGRESS, finish.status, manual=False)
    set_error = bool(finish.error_type or finish.error_message or finish.error_details)
    statement = statements.finish_statement(
        set_output=finish.set_output,
        set_error=set_error,
        finished=finish.status != TaskStatus.POSTPONED,
    )
    params: dict[str, Any] = {
        "p_guids": guids,
        "p_account_id": account_id,
        "p_lease_id": lease_id,
        "p_now": now,
        "p_status": int(finish.status),
        "p_postponed_until": finish.postponed_until
        if finish.status == TaskStatus.POSTPONED
        else None,
    }
    if finish.set_output:
        params["p_output"] = finish.output
    if set_error:
        params.update(
            p_error_type=finish.error_type,
            p_error_message=finish.error_message,
            p_error_details=finish.error_details,
        )
    rows = list(session.execute(statement, params))
    record(
        session, [_event(row, TaskStatus.IN_PROGRESS, finish.status, change, now) for row in rows]
    )
    if finish.status in FAILURES:
        for row in rows:
            _retry(session, row, rules(row.queue_id), finish.status, now)
    return rows


def promote_overdue(session: Session, now: datetime) -> int:
    """New tasks whose deadline has passed move ahead of every priority (see take_rank)."""
    result = session.execute(
        update(TASKS)
        .where(
            TASKS.c.status == literal_int(TaskStatus.NEW),
            TASKS.c.rank >= 1,
            TASKS.c.deadline_key <= now,
            TASKS.c.deadline_key < NO_DEADLINE,
        )
        .values(rank=TASKS.c.rank - OVERDUE_SHIFT)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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
