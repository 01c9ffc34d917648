"""Take and finish: the hot statements, built once per dialect, and the lease statements.

Take: one UPDATE of the first `count` New tasks of a queue in take order (rank, deadline, age),
picked with SKIP LOCKED on PostgreSQL (on SQLite the BEGIN IMMEDIATE transaction already
excludes other writers), RETURNING the rows. Finish: one UPDATE conditional on the live lease,
RETURNING the row or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Insert,
    Select,
    Update,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from robofleet.contract import TaskStatus
from robofleet.server.db.base import literal_int
from robofleet.server.db.core_tables import QUEUES
from robofleet.server.db.dialect import Dialect
from robofleet.server.db.tables import TaskRow
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.db.task_statements.records import (
    EVENTS,
    FINISHED,
    IN_PROGRESS,
    LEASE_COLUMNS,
    NEW,
    RETURNED,
    TaskEventValues,
    TaskRecord,
    take_order,
    take_order_key,
)
from robofleet.server.db.task_statements.take_filters import FilterShape, shape_conditions
from robofleet.server.db.unindexed import unindexed
from robofleet.server.domain.queue_rules import RETRY_SWITCH


def pick_new(conditions: list[Any], dialect: Dialect, count: int | None = None) -> Select[Any]:
    """The ids of the first New tasks matching `conditions`, in take order, locked for the
    take: `p_count` of them, or `count` written into the statement (see one_trip._taken)."""
    picked = take_order(
        select(TASKS.c.id).where(
            *conditions, TASKS.c.status == literal_int(NEW), TASKS.c.is_deleted.is_(False)
        )
    )
    picked = picked.limit(bindparam("p_count") if count is None else literal_int(count))
    return dialect.for_claim(picked)


def take_statement(picked: Select[Any]) -> Update:
    return (
        update(TASKS)
        .where(TASKS.c.id.in_(picked.scalar_subquery()))
        .values(
            status=IN_PROGRESS,
            started_at=bindparam("p_now"),
            status_changed_at=bindparam("p_now"),
            updated_at=bindparam("p_now"),
            job_id=func.coalesce(bindparam("p_job_id"), TASKS.c.job_id),
            **{column: bindparam(f"p_{column}") for column in LEASE_COLUMNS},
        )
        .returning(*RETURNED)
    )


def take_filtered(queue_id: int, conditions: list[ColumnElement[bool]], dialect: Dialect) -> Update:
    """The take narrowed by filter_conditions (or only_task); built per call, as the filters
    vary. Parameters as take_from_queue's."""
    return take_statement(pick_new([TASKS.c.queue_id == queue_id, *conditions], dialect))


@cache
def take_from_queue(dialect: Dialect, shape: FilterShape | None = None) -> Update:
    """The take from the whole queue, or narrowed by filters of `shape` (their values bound,
    take_filters). Parameters (each with a `p_` prefix): queue_id, count, now, job_id and
    the lease columns, and the filters' `p_f_*`."""
    conditions = [TASKS.c.queue_id == bindparam("p_queue_id"), *shape_conditions(shape)]
    return take_statement(pick_new(conditions, dialect))


def retried_by_its_queue() -> ColumnElement[bool]:
    """domain.queue_rules.queue_retries_failure in SQL: whether the task's queue retries a
    failure of status `p_status` for it (its switch for that failure, and retries left)."""
    status: BindParameter[int] = bindparam("p_status")
    wanted = case(
        *((status == literal_int(kind), QUEUES.c[column]) for kind, column in RETRY_SWITCH.items()),
        else_=false(),
    )
    return exists().where(
        and_(QUEUES.c.id == TASKS.c.queue_id, wanted, TASKS.c.retries < QUEUES.c.max_retries)
    )


@cache
def finish_statement(
    *,
    set_output: bool,
    set_error: bool,
    finished: bool,
    unless_retried: bool = False,
    ids_only: bool = False,
    members: Any = None,
) -> Update:
    """Parameters (each with a `p_` prefix): guids (a list), account_id, status, now,
    lease_id, postponed_until, and the optional output and error_*. `unless_retried`: a
    failure leaves the tasks whose queue retries it unchanged (the one-statement paths; the
    session path then finishes them and makes the retry task). It returns the tasks
    finished (TaskRecord), or with `ids_only` their FinishedTask: a batch's answer names no
    more, and reading whole rows back (SQLite's times as text) cost more than the UPDATE.

    With `members` (a FROM of `guid` and `lease_id` columns: one_trip.group_finish) each task
    is named by a member, under that member's lease, instead of p_guids and p_lease_id."""
    guid_named: ColumnElement[bool] = TASKS.c.guid.in_(bindparam("p_guids", expanding=True))
    lease: Any = bindparam("p_lease_id")
    if members is not None:
        guid_named, lease = TASKS.c.guid == members.c.guid, members.c.lease_id
    values: dict[str, Any] = {
        "status": bindparam("p_status"),
        "status_changed_at": bindparam("p_now"),
        "updated_at": bindparam("p_now"),
        "postponed_until": bindparam("p_postponed_until"),
        **dict.fromkeys(LEASE_COLUMNS),
        "finish_lease_id": lease,
    }
    if finished:
        values["finished_at"] = bindparam("p_now")
    if set_output:
        values["output"] = bindparam("p_output", type_=TASKS.c.output.type)
    if set_error:
        values.update(
            error_type=bindparam("p_error_type"),
            error_message=bindparam("p_error_message"),
            error_details=bindparam("p_error_details"),
        )
    statement = update(TASKS).where(
        guid_named,
        # By the GUIDs' index, not the account's (db.unindexed).
        unindexed(TASKS.c.account_id) == bindparam("p_account_id"),
        TASKS.c.is_deleted.is_(False),
        # `+ 0`: not the lease index's predicate (`status = 1`). Given the value, a custom
        # plan walked that partial index whenever few tasks were In Progress and judged the
        # generic plan, by GUID, dearer: PostgreSQL planned every batch finish anew.
        (TASKS.c.status + 0) == IN_PROGRESS,
        TASKS.c.lease_id == lease,
        TASKS.c.lease_expires_at > bindparam("p_now"),
    )
    if unless_retried:
        statement = statement.where(~retried_by_its_queue())
    return statement.values(**values).returning(*(FINISHED if ids_only else RETURNED))


@cache
def insert_events() -> Insert:
    return insert(EVENTS)


def take(session: Session, statement: Update, params: dict[str, Any]) -> list[TaskRecord]:
    """Run a take statement (take_from_queue or take_filtered); the rows in take order."""
    rows = [TaskRecord._make(row) for row in session.execute(statement, params)]
    rows.sort(key=take_order_key)
    return rows


def finish(session: Session, statement: Update, params: dict[str, Any]) -> list[TaskRecord]:
    """Run a finish_statement; the tasks it changed."""
    return [TaskRecord._make(row) for row in session.execute(statement, params)]


def record_events(session: Session, events: Sequence[TaskEventValues]) -> None:
    """Append entries to the tasks' histories."""
    if events:
        session.execute(insert_events(), list(events))


# Leases


def live_leased_task(
    session: Session, task_id: int, lease_id: str, now: datetime
) -> TaskRow | None:
    """The task, locked, if `lease_id` is its live lease."""
    return session.scalar(
        select(TaskRow)
        .where(
            TaskRow.id == task_id,
            TaskRow.status == int(TaskStatus.IN_PROGRESS),
            TaskRow.lease_id == lease_id,
            TaskRow.lease_expires_at > now,
        )
        .with_for_update()
    )


@cache
def _leases_of_robot() -> Select[int, int | None, int | None]:
    return select(TaskRow.id, TaskRow.lease_seconds, TaskRow.job_id).where(
        TaskRow.lease_robot_id == bindparam("p_robot"),
        TaskRow.status == int(TaskStatus.IN_PROGRESS),
    )


def leases_of_robot(session: Session, robot_id: int) -> list[tuple[int, int | None, int | None]]:
    """(task id, lease seconds, job id) of each task the robot holds: run on every heartbeat."""
    return [tuple(row) for row in session.execute(_leases_of_robot(), {"p_robot": robot_id})]  # type: ignore[misc]


def extend_lease(session: Session, task_id: int, expires_at: datetime) -> None:
    session.execute(update(TASKS).where(TASKS.c.id == task_id).values(lease_expires_at=expires_at))
