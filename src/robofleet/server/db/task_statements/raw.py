"""The statements of SQLite's lean take, finish and renew (services.tasks.lean_sqlite), each
built once for db.raw_write's PreparedStatements: the same lookups the session path makes
through the ORM (leases.job_for, access.lookup.find, views.task_reads, leases._renew), as
Core. The take and finish themselves are claims.take_from_queue and claims.finish_statement."""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Literal

from sqlalchemy import Insert, Select, Table, bindparam, func, insert, select, update
from sqlalchemy.sql.dml import Update

from robofleet.server.db.core_tables import JOBS, QUEUES
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.db.task_statements.records import (
    EVENTS,
    IN_PROGRESS,
    RETURNED,
    TaskEventValues,
    TaskMove,
)
from robofleet.server.domain.jobs import JobStatus

assert "folder_id" not in JOBS.c, "job lookups here assume jobs are in no access folder"

EVENT_FIELDS = ("account_id", "task_id", "from_status", "to_status", "actor", "reason", "at")
assert set(EVENT_FIELDS) == set(TaskEventValues.__annotations__)
_RUNNING = [int(JobStatus.IN_PROGRESS), int(JobStatus.STOPPING)]
_BY_ID: dict[str, Table] = {"jobs": JOBS, "queues": QUEUES, "tasks": TASKS}


@cache
def insert_moves() -> Insert:
    """One history entry for each task of `m_task_ids` (a JSON array of ids, in the order
    their entries are written): the same move, by the same actor, at the same moment, as a
    take or a finish makes. One statement whatever the number of tasks: a batch's entries
    cost SQLite's work, not a round of Python parameter handling each."""
    ids = func.json_each(bindparam("m_task_ids")).table_valued("key", "value")
    moved = (
        select(
            TASKS.c.account_id,
            TASKS.c.id,
            bindparam("m_from_status", type_=EVENTS.c.from_status.type),
            bindparam("m_to_status", type_=EVENTS.c.to_status.type),
            bindparam("m_actor", type_=EVENTS.c.actor.type),
            bindparam("m_reason", type_=EVENTS.c.reason.type),
            bindparam("m_at", type_=EVENTS.c.at.type),
        )
        .select_from(ids.join(TASKS, TASKS.c.id == ids.c.value))
        .order_by(ids.c.key)
    )
    return insert(EVENTS).from_select(list(EVENT_FIELDS), moved)


def move_values(task_ids: list[int], move: TaskMove) -> dict[str, Any]:
    """The parameters of insert_moves: the tasks, and the move each of them made."""
    return {"m_task_ids": json.dumps(task_ids), **{f"m_{name}": v for name, v in move.items()}}


@cache
def job_by_ref(kind: Literal["id", "guid"], *, own_only: bool) -> Select[Any]:
    """Id and GUID of a live job of the account `p_account_id` by id or GUID (`p_ref`),
    with `own_only` among the robot `p_robot_id`'s own (access.robot_scope): the lookup
    access.lookup.find makes for leases.job_for."""
    column = JOBS.c.id if kind == "id" else JOBS.c.guid
    query = select(JOBS.c.id, JOBS.c.guid).where(
        JOBS.c.account_id == bindparam("p_account_id"),
        JOBS.c.is_deleted.is_(False),
        column == bindparam("p_ref"),
    )
    if own_only:
        query = query.where(JOBS.c.robot_id == bindparam("p_robot_id"))
    return query.order_by(JOBS.c.id).limit(1)


@cache
def running_job_of_robot() -> Select[Any]:
    """The id of the robot `p_robot_id`'s running job, as leases.job_for finds it."""
    return (
        select(JOBS.c.id)
        .where(JOBS.c.robot_id == bindparam("p_robot_id"), JOBS.c.status.in_(_RUNNING))
        .limit(1)
    )


@cache
def guid_by_id(table: Literal["jobs", "queues", "tasks"]) -> Select[Any]:
    """The GUID of the row `p_id` (any account, deleted too), as
    task_statements.guids_by_id."""
    rows = _BY_ID[table]
    return select(rows.c.guid).where(rows.c.id == bindparam("p_id"))


@cache
def visible_queue_guid() -> Select[Any]:
    """The GUID of the live queue `p_id` of the account `p_account_id`: the queue as
    queues.queue_rules finds it by id for a caller in no access folder."""
    return (
        select(QUEUES.c.guid)
        .where(
            QUEUES.c.account_id == bindparam("p_account_id"),
            QUEUES.c.is_deleted.is_(False),
            QUEUES.c.id == bindparam("p_id"),
        )
        .order_by(QUEUES.c.id)
        .limit(1)
    )


@cache
def live_leased(kind: Literal["id", "guid"]) -> Select[Any]:
    """The live task of the account `p_account_id` named by id or GUID (`p_ref`) if
    `p_lease_id` is its live lease at `p_now`: lookup.task_ids and claims.live_leased_task
    in one."""
    column = TASKS.c.id if kind == "id" else TASKS.c.guid
    return select(*RETURNED).where(
        column == bindparam("p_ref"),
        TASKS.c.account_id == bindparam("p_account_id"),
        TASKS.c.is_deleted.is_(False),
        TASKS.c.status == IN_PROGRESS,
        TASKS.c.lease_id == bindparam("p_lease_id"),
        TASKS.c.lease_expires_at > bindparam("p_now"),
    )


@cache
def renew_lease() -> Update:
    """A renewed lease on the task `p_id`: its seconds, its new expiry, updated at `p_now`."""
    return (
        update(TASKS)
        .where(TASKS.c.id == bindparam("p_id"))
        .values(
            lease_seconds=bindparam("p_lease_seconds"),
            lease_expires_at=bindparam("p_lease_expires_at"),
            updated_at=bindparam("p_now"),
        )
    )
