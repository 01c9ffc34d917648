"""The one module that writes task status: the guarded moves, each with its history entry and
the queue's retry rule. `add_tasks` gives new tasks their first status; `change_task_status`
moves one loaded task; `take_new_tasks` and `finish_leased_tasks` are the same moves done as
single conditional statements, for the paths robots hit thousands of times a second."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.base import utcnow
from robofleet.server.db.dialect import dialect_of
from robofleet.server.db.system_actors import QUEUE_AUTO_CHANGE_STATUS, QUEUE_RETRY_RULE
from robofleet.server.db.tables import JobRow, QueueRow, TaskRow
from robofleet.server.db.tables.queues import NO_DEADLINE, rank_of
from robofleet.server.db.task_statements import (
    FinishedTask,
    NewTask,
    TaskEventValues,
    TaskLike,
    TaskMove,
    TaskRecord,
)
from robofleet.server.domain.queue_rules import QueueRules, RetryRules, queue_retries_failure
from robofleet.server.domain.refs import new_guid
from robofleet.server.domain.tasks import (
    FAILURES,
    TaskStatus,
    check_transition,
    normalize_tags,
    stored_tags,
)
from robofleet.server.schemas.queues import FinishItem, TaskFields
from robofleet.server.services.access.caller import Caller

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


def history_entry(
    account_id: int,
    task_id: int,
    from_status: TaskStatus | None,
    to_status: TaskStatus,
    change: Change,
    now: datetime,
) -> TaskEventValues:
    move = task_move(from_status, to_status, change, now)
    return TaskEventValues(account_id=account_id, task_id=task_id, **move)


def task_move(
    from_status: TaskStatus | None, to_status: TaskStatus, change: Change, now: datetime
) -> TaskMove:
    """What the history entry of each task making this move says."""
    return {
        "from_status": None if from_status is None else int(from_status),
        "to_status": int(to_status),
        "actor": change.actor[:300],
        "reason": change.reason,
        "at": now,
    }


def _moved(
    task: TaskLike | FinishedTask,
    from_status: TaskStatus | None,
    to_status: TaskStatus,
    change: Change,
    now: datetime,
) -> TaskEventValues:
    return history_entry(task.account_id, task.id, from_status, to_status, change, now)


def new_task(
    queue: QueueRow | QueueRules,
    name: str,
    fields: TaskFields,
    now: datetime,
    *,
    guid: str | None = None,
    idempotency_key: str | None = None,
    request_digest: str | None = None,
) -> NewTask:
    """The values of a task to add: New, or Postponed while its postponed time lies ahead.
    `guid` is the client's own GUID for it; the key and digest name the add for its retries
    (services.tasks.idempotency)."""
    postponed = fields.postponed_until is not None and fields.postponed_until > now
    return {
        "guid": guid or new_guid(),
        "account_id": queue.account_id,
        "queue_id": queue.id,
        "name": name,
        "unique_name": name if queue.unique_tasks else None,
        "description": fields.description,
        "comment": fields.comment,
        "parameters": fields.parameters,
        "priority": fields.priority,
        "rank": take_rank(fields.priority, fields.deadline, now),
        "tags": stored_tags(normalize_tags(fields.tags)),
        "status": int(TaskStatus.POSTPONED if postponed else TaskStatus.NEW),
        "postponed_until": fields.postponed_until if postponed else None,
        "deadline": fields.deadline,
        "deadline_key": fields.deadline or NO_DEADLINE,
        "retries": fields.retries,
        "idempotency_key": idempotency_key,
        "request_digest": request_digest,
        "status_changed_at": now,
        "created_at": now,
        "updated_at": now,
        "is_deleted": False,
    }


def add_tasks(session: Session, tasks: list[NewTask], change: Change, now: datetime) -> None:
    """Insert new tasks (new_task) and their first history entries, in two statements plus
    one to learn their ids."""
    ids = statements.insert_tasks(session, tasks)
    statements.record_events(
        session,
        [
            history_entry(
                t["account_id"], ids[t["guid"]], None, TaskStatus(t["status"]), change, now
            )
            for t in tasks
        ],
    )


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
    task.finish_lease_id = None  # the status is no longer the one a lease's finish left
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
    statements.record_events(session, [_moved(task, current, status, change, now)])
    if status in FAILURES and not change.manual:
        return _retry(session, task, queue, status, now)
    return None


def _retry(
    session: Session, task: TaskLike, queue: RetryRules, status: TaskStatus, now: datetime
) -> TaskRow | None:
    """A new task linked to the failed one, when the queue retries this kind of failure.
    The failed task keeps its status, as Sherpa and UiPath do."""
    if not queue_retries_failure(queue, status, task.retries):
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
    statements.record_events(
        session,
        [_moved(child, None, TaskStatus(child.status), Change(QUEUE_RETRY_RULE, reason), now)],
    )
    return child


@dataclass(frozen=True)
class Lease:
    lease_id: str
    owner: str
    robot_id: int | None
    seconds: int
    job_id: int | None


def lease_owner(caller: Caller) -> str:
    return f"{caller.principal.kind}:{caller.principal.guid}"


def new_lease(caller: Caller, *, seconds: int, job_id: int | None) -> Lease:
    return Lease(
        lease_id=new_guid(),
        owner=lease_owner(caller),
        robot_id=caller.principal.robot_id,
        seconds=seconds,
        job_id=job_id,
    )


def take_new_tasks(
    session: Session,
    conditions: list[ColumnElement[bool]] | None,
    *,
    queue_id: int,
    count: int,
    lease: Lease,
    change: Change,
    now: datetime,
) -> list[TaskRecord]:
    """New -> In Progress for up to `count` tasks of a queue in take order, in one
    conditional UPDATE (db.task_statements). `conditions` narrow the pick (filters)."""
    check_transition(TaskStatus.NEW, TaskStatus.IN_PROGRESS, manual=False)
    dialect = dialect_of(session)
    if conditions:
        statement = statements.take_filtered(queue_id, conditions, dialect)
    else:
        statement = statements.take_from_queue(dialect)
    rows = statements.take(session, statement, take_params(queue_id, count, lease, now))
    statements.record_events(session, taken_events(rows, change, now))
    return rows


def take_params(queue_id: int, count: int, lease: Lease, now: datetime) -> dict[str, Any]:
    """The parameters of a take statement (claims.take_from_queue, take_filtered)."""
    return {
        "p_queue_id": queue_id,
        "p_count": count,
        "p_now": now,
        "p_job_id": lease.job_id,
        "p_lease_id": lease.lease_id,
        "p_lease_owner": lease.owner,
        "p_lease_robot_id": lease.robot_id,
        "p_lease_seconds": lease.seconds,
        "p_lease_expires_at": now + timedelta(seconds=lease.seconds),
    }


def taken_events(rows: list[TaskRecord], change: Change, now: datetime) -> list[TaskEventValues]:
    """The history entries of tasks a take moved New -> In Progress."""
    return [_moved(r, TaskStatus.NEW, TaskStatus.IN_PROGRESS, change, now) for r in rows]


@dataclass(frozen=True)
class Finish:
    status: TaskStatus
    output: Any = None
    set_output: bool = False
    error_type: str = ""
    error_message: str = ""
    error_details: str = ""
    postponed_until: datetime | None = None


def finish_of(item: FinishItem) -> tuple[Finish, str]:
    """The outcome a finish item asks for, and the reason its history entry gives."""
    error = item.error
    finish = Finish(
        status=TaskStatus(item.status),
        output=item.output,
        set_output="output" in item.model_fields_set,
        error_type=error.type if error else "",
        error_message=error.message if error else "",
        error_details=error.details if error else "",
        postponed_until=item.postponed_until,
    )
    return finish, (error.message[:500] if error and error.message else "finished")


def only_a_status(item: FinishItem) -> bool:
    """A finish that sets the status alone (no output, error or postponement): finishes of
    one status and lease share a statement."""
    return (
        item.error is None
        and "output" not in item.model_fields_set
        and item.status != TaskStatus.POSTPONED
    )


def finish_shape(finish: Finish) -> dict[str, bool]:
    """Which finish_statement a finish runs."""
    return {
        "set_output": finish.set_output,
        "set_error": bool(finish.error_type or finish.error_message or finish.error_details),
        "finished": finish.status != TaskStatus.POSTPONED,
    }


def one_statement_shape(finish: Finish) -> dict[str, bool]:
    """finish_shape for the paths that finish in one statement and make no retry task: a
    failure leaves a task its queue retries unchanged, for the session path to finish."""
    return {**finish_shape(finish), "unless_retried": finish.status in FAILURES}


def finish_params(
    guids: list[str], account_id: int, lease_id: str, finish: Finish, now: datetime
) -> dict[str, Any]:
    """The parameters of the finish_statement of finish_shape(finish)."""
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
    if finish_shape(finish)["set_error"]:
        params.update(
            p_error_type=finish.error_type,
            p_error_message=finish.error_message,
            p_error_details=finish.error_details,
        )
    return params


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
) -> list[TaskRecord]:
    """In Progress -> Success/Failed/Postponed for the tasks whose live lease is `lease_id`:
    one conditional UPDATE, so a racing expiry or another taker cannot both win. Returns the
    tasks changed; a task missing from the result had no live lease (and did not change).
    `rules` gives a queue's retry rule."""
    check_transition(TaskStatus.IN_PROGRESS, finish.status, manual=False)
    rows = statements.finish(
        session,
        statements.finish_statement(**finish_shape(finish)),
        finish_params(guids, account_id, lease_id, finish, now),
    )
    statements.record_events(session, finished_events(rows, finish, change, now))
    if finish.status in FAILURES:
        for row in rows:
            _retry(session, row, rules(row.queue_id), finish.status, now)
    return rows


def finished_events(
    rows: Sequence[TaskRecord | FinishedTask], finish: Finish, change: Change, now: datetime
) -> list[TaskEventValues]:
    """The history entries of tasks a finish moved from In Progress."""
    return [_moved(row, TaskStatus.IN_PROGRESS, finish.status, change, now) for row in rows]


def promote_overdue(session: Session, now: datetime, account_id: int) -> int:
    """New tasks of the account whose deadline has passed move ahead of every priority (see
    take_rank)."""
    return statements.promote_overdue(session, now, OVERDUE_SHIFT, account_id)


def fail_tasks_of_job(
    session: Session, job: JobRow, job_outcome: str, now: datetime | None = None
) -> int:
    """A job ended Failed/Stopped/Aborted: its In Progress tasks fail, where the queue says."""
    rows = statements.in_progress_of_job(session, job.id)
    for task, queue in rows:
        task.error_type = "JobEnded"
        task.error_message = f"job {job.guid} ended {job_outcome}"
        change_task_status(
            session,
            task,
            queue,
            TaskStatus.FAILED_APPLICATION,
            Change(QUEUE_AUTO_CHANGE_STATUS, f"job ended {job_outcome}"),
            now=now,
        )
    return len(rows)
