"""Take and finish in one round trip, where the store allows (Dialect.one_statement_claims):
the same guarded moves as services.tasks.state, each run as one statement in autocommit with
its history entry (db.task_statements.one_trip), answered from the statement's RETURNING.

services.tasks.leases decides when this path applies and falls back to its session path
otherwise (a job named in the request, a queue not yet cached, a failure that may be retried,
a finish that changed nothing and needs its reason told)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam

from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.db.task_statements import one_trip as statements
from robofleet.server.db.task_statements.one_trip import LinkGuids
from robofleet.server.db.task_statements.records import TaskRecord
from robofleet.server.domain.queue_rules import QueueRules
from robofleet.server.domain.tasks import TaskStatus, check_transition
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.queues import TaskRead
from robofleet.server.schemas.rendered import RenderedJson
from robofleet.server.services.tasks.state import (
    Change,
    Finish,
    Lease,
    finish_params,
    history_entry,
    one_statement_shape,
)
from robofleet.server.services.tasks.views import task_list_json, task_reads


def _history_params(change: Change, now: datetime) -> dict[str, Any]:
    # The actor and reason exactly as state.history_entry writes them (truncated alike).
    entry = history_entry(0, 0, None, TaskStatus.NEW, change, now)
    return {"p_actor": entry["actor"], "p_reason": entry["reason"], "p_now": now}


def reads_of(rows: list[tuple[TaskRecord, LinkGuids]], *, with_lease: bool) -> list[TaskRead]:
    """The read shapes of a one-trip statement's rows (their links are in the rows)."""
    tasks, links = _linked(rows)
    return task_reads(None, tasks, with_lease=with_lease, **links)


def json_of(rows: list[tuple[TaskRecord, LinkGuids]], *, with_lease: bool) -> RenderedJson:
    """reads_of's TaskList, rendered."""
    tasks, links = _linked(rows)
    return task_list_json(tasks, with_lease=with_lease, **links)


def _linked(
    rows: list[tuple[TaskRecord, LinkGuids]],
) -> tuple[list[TaskRecord], dict[str, dict[int, str]]]:
    """The rows' tasks, and the GUIDs they link to by kind (task_reads' keywords)."""
    tasks = [task for task, _ in rows]
    queues = {task.queue_id: links.queue for task, links in rows}
    jobs = {task.job_id: links.job for task, links in rows if task.job_id and links.job}
    parents = {
        task.parent_task_id: links.parent
        for task, links in rows
        if task.parent_task_id and links.parent
    }
    return tasks, {"queue_guids": queues, "job_guids": jobs, "parent_guids": parents}


def take_params(
    queue: QueueRules, *, lease: Lease, change: Change, now: datetime
) -> dict[str, Any]:
    """The parameters every take statement has (take_cte, take_for_job)."""
    return {
        **_history_params(change, now),
        "p_queue_id": queue.id,
        "p_lease_id": lease.lease_id,
        "p_lease_owner": lease.owner,
        "p_lease_robot_id": lease.robot_id,
        "p_lease_seconds": lease.seconds,
        "p_lease_expires_at": now + timedelta(seconds=lease.seconds),
    }


def take(
    runtime: Runtime,
    queue: QueueRules,
    conditions: list[ColumnElement[bool]] | None,
    *,
    count: int,
    lease: Lease,
    link_robot_job: bool,
    change: Change,
    now: datetime,
) -> list[TaskRead]:
    """New -> In Progress for up to `count` tasks of the queue in take order, as
    state.take_new_tasks. With `link_robot_job` (a robot's take naming no job) the tasks link
    to the robot's running job, as leases.job_for."""
    check_transition(TaskStatus.NEW, TaskStatus.IN_PROGRESS, manual=False)
    statement = (
        statements.take_cte([TASKS.c.queue_id == bindparam("p_queue_id"), *conditions], count)
        if conditions
        else statements.take_from_queue(count)
    )
    params = {
        **take_params(queue, lease=lease, change=change, now=now),
        "p_job_id": lease.job_id,
        "p_robot_job": int(link_robot_job),
    }
    with runtime.db.autocommit() as connection:
        rows = statements.run(connection, statement, params)
    return reads_of(rows, with_lease=True)


@dataclass(frozen=True)
class OneFinish:
    """A single task's finish that one statement makes (leases.one_statement_finish)."""

    guid: str
    account_id: int
    lease_id: str
    finish: Finish
    change: Change


def finish(runtime: Runtime, plan: OneFinish, now: datetime) -> TaskRead | None:
    """In Progress -> Success/Postponed for the task if `lease_id` is its live lease, as
    state.finish_leased_tasks; None when it changed nothing (the caller tells why)."""
    statement, params = finish_statement(plan, now)
    with runtime.db.autocommit() as connection:
        rows = statements.run(connection, statement, params)
    if not rows:
        return None
    return reads_of(rows, with_lease=False)[0]


def finish_statement(
    plan: OneFinish, now: datetime, *, guids: list[str] | None = None, guids_only: bool = False
) -> tuple[Select[Any], dict[str, Any]]:
    """The finish_cte of this outcome and its parameters (for the plan's task, or for each
    of `guids` under the same lease; answering the GUIDs finished alone with `guids_only`);
    the move checked first."""
    finish = plan.finish
    check_transition(TaskStatus.IN_PROGRESS, finish.status, manual=False)
    statement = statements.finish_cte(**one_statement_shape(finish), guids_only=guids_only)
    params = {
        **finish_params(guids or [plan.guid], plan.account_id, plan.lease_id, finish, now),
        **_history_params(plan.change, now),
    }
    return statement, params
