"""The task statements robots run thousands of times a second, built once per dialect with
bound parameters, so a request pays neither statement construction nor cache-key work.

Take: one UPDATE of the first `count` New tasks of a queue in take order (rank, deadline,
age), picked with SKIP LOCKED on PostgreSQL (on SQLite the BEGIN IMMEDIATE transaction
already excludes other writers), RETURNING the rows. Finish: one UPDATE conditional on the
live lease, RETURNING the row or nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Select, Table, Update, bindparam, func, insert, select, update

from robofleet.contract import TaskStatus
from robofleet.server.db.base import literal_int
from robofleet.server.db.tables import TaskEventRow
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS

EVENTS = cast(Table, TaskEventRow.__table__)
NEW, IN_PROGRESS = int(TaskStatus.NEW), int(TaskStatus.IN_PROGRESS)
LEASE_COLUMNS = ("lease_id", "lease_owner", "lease_robot_id", "lease_seconds", "lease_expires_at")


def take_order(query: Select[Any]) -> Select[Any]:
    return query.order_by(TASKS.c.rank, TASKS.c.deadline_key, TASKS.c.id)


def pick_new(conditions: list[Any], *, postgres: bool) -> Select[Any]:
    picked = take_order(
        select(TASKS.c.id).where(
            *conditions, TASKS.c.status == literal_int(NEW), TASKS.c.is_deleted.is_(False)
        )
    )
    picked = picked.limit(bindparam("p_count"))
    return picked.with_for_update(skip_locked=True) if postgres else picked


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
        .returning(*TASKS.c)
    )


@cache
def take_from_queue(postgres: bool) -> Update:
    """The unfiltered take. Parameters (each with a `p_` prefix): queue_id, count, now,
    job_id and the lease columns."""
    return take_statement(
        pick_new([TASKS.c.queue_id == bindparam("p_queue_id")], postgres=postgres)
    )


@cache
def finish_statement(*, set_output: bool, set_error: bool, finished: bool) -> Update:
    """Parameters (each with a `p_` prefix): guids (a list), account_id, status, now,
    lease_id, postponed_until, and the optional output and error_*."""
    values: dict[str, Any] = {
        "status": bindparam("p_status"),
        "status_changed_at": bindparam("p_now"),
        "updated_at": bindparam("p_now"),
        "postponed_until": bindparam("p_postponed_until"),
        **dict.fromkeys(LEASE_COLUMNS),
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
    return (
        update(TASKS)
        .where(
            TASKS.c.guid.in_(bindparam("p_guids", expanding=True)),
            TASKS.c.account_id == bindparam("p_account_id"),
            TASKS.c.is_deleted.is_(False),
            TASKS.c.status == IN_PROGRESS,
            TASKS.c.lease_id == bindparam("p_lease_id"),
            TASKS.c.lease_expires_at > bindparam("p_now"),
        )
        .values(**values)
        .returning(*TASKS.c)
    )


@cache
def insert_events() -> Insert:
    return insert(EVENTS)
