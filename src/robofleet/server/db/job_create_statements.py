"""The lean job create's statements (services.jobs.lean_create), built once each.

The session path (services.jobs.crud.insert_job) finds the process, the robot or robot group
with access.lookup.find and the default task with tasks.reading.find_task, inserts the job
(add_job), records the audit row db.audit writes for an ORM insert, and announces the job
(runtime.wakeups). Here the same lookups are Core: for a caller in no access folder and not a
robot, `scoped` comes down to the account and `is_deleted`, the reference to one column (id,
GUID or name), the first row by id (a task: the newest, its queue live).

- SQLite (in Database.raw_write): `process_lookup`, `robot_lookup`, `group_lookup`,
  `task_lookup`, `insert_job`,
  job_statements.insert_audit, one after the other; the audit's changes are made in Python, in the
  mapper's column order, as db.audit makes them (SQLite stores JSON as text: order counts).
- PostgreSQL (on the driver pool, autocommit): `postgres_create`, ONE statement whose CTEs
  resolve, insert the job and its audit row, NOTIFY the wake-up and return what JobRead
  needs. A reference that finds nothing (or a process with no current version) gives no
  source row: nothing is inserted, nothing announced, no row returned.

Bound parameters: p_account, p_process (and p_robot, p_group, p_task) as the lookups'
values; the job's own values `j_<column>` (JOB_VALUES); the audit entry's `a_<column>`
(AUDIT_VALUES); on PostgreSQL p_channel and p_payload_account for the NOTIFY.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    Insert,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    not_,
    null,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from robofleet.server.db.core_tables import (
    AUDIT,
    JOBS,
    PROCESSES,
    QUEUES,
    ROBOT_GROUPS,
    ROBOTS,
    VERSIONS,
)
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS

RefKind = Literal["id", "guid", "name"]

JOB_DEFAULTS = ("job_type", "progress", "last_message", "roboteasy_hidden")
"""Columns add_job leaves to the ORM's column defaults: bound here (a prepared statement runs
no default), with the defaults' values (services.jobs.lean_create)."""

JOB_VALUES = (
    "guid",
    "is_deleted",
    "account_id",
    "schedule_id",
    "status",
    "source",
    "priority",
    "parameters",
    "stop_after",
    "abort_after",
    "status_changed_at",
    *JOB_DEFAULTS,
    "created_at",
    "updated_at",
)
"""The job's columns bound as `j_<name>`: add_job's, less the ids the lookups give."""

FOUND = ("robot_id", "requested_robot_id", "robot_group_id", "task_id")
"""The job's columns the lookups other than the process's fill (None: not named)."""

AUDIT_VALUES = (
    "guid",
    "account_id",
    "at",
    "actor_kind",
    "actor_guid",
    "actor_name",
    "address",
    "user_agent",
    "action",
    "object_type",
    "message",
)
"""The audit entry's columns bound as `a_<name>`; object id, GUID and changes come from
the job."""


def _column(rows: Table, kind: RefKind) -> Any:
    return {"id": rows.c.id, "guid": rows.c.guid, "name": rows.c.name}[kind]


def _lookup(rows: Table, kind: RefKind, ref: str, *columns: Any) -> Select[Any]:
    """access.lookup.find for a caller in no access folder and no robot: the account's live
    row `ref` names, the first by id. (`NOT is_deleted`, not `is_deleted IS false`, which
    means the same for the NOT NULL column but does not let PostgreSQL use the partial
    unique index on live names.)"""
    return (
        select(*columns)
        .where(
            rows.c.account_id == bindparam("p_account"),
            not_(rows.c.is_deleted),
            _column(rows, kind) == bindparam(ref),
        )
        .order_by(rows.c.id)
        .limit(1)
    )


@cache
def process_lookup(kind: RefKind) -> Select[Any]:
    """(id, GUID, name, current version id, its GUID) of the process `p_process`."""
    return _lookup(
        PROCESSES,
        kind,
        "p_process",
        PROCESSES.c.id,
        PROCESSES.c.guid,
        PROCESSES.c.name,
        PROCESSES.c.current_version_id,
        VERSIONS.c.guid.label("version_guid"),
    ).outerjoin_from(PROCESSES, VERSIONS, VERSIONS.c.id == PROCESSES.c.current_version_id)


@cache
def robot_lookup(kind: RefKind) -> Select[Any]:
    """(id, GUID, name) of the robot `p_robot`."""
    return _lookup(ROBOTS, kind, "p_robot", ROBOTS.c.id, ROBOTS.c.guid, ROBOTS.c.name)


@cache
def group_lookup(kind: RefKind) -> Select[Any]:
    """(id, GUID) of the robot group `p_group`."""
    return _lookup(ROBOT_GROUPS, kind, "p_group", ROBOT_GROUPS.c.id, ROBOT_GROUPS.c.guid)


@cache
def task_lookup(kind: RefKind) -> Select[Any]:
    """(id,) of the task `p_task`: the account's newest live task it names (by name, the
    newest of that name), when its queue is live (tasks.reading.find_task)."""
    newest = (
        select(TASKS.c.id, TASKS.c.queue_id)
        .where(
            TASKS.c.account_id == bindparam("p_account"),
            not_(TASKS.c.is_deleted),
            _column(TASKS, kind) == bindparam("p_task"),
        )
        .order_by(TASKS.c.id.desc())
        .limit(1)
        .subquery("newest")
    )
    return (
        select(newest.c.id)
        .join_from(newest, QUEUES, QUEUES.c.id == newest.c.queue_id)
        .where(QUEUES.c.account_id == bindparam("p_account"), not_(QUEUES.c.is_deleted))
    )


def _job_binds() -> dict[str, Any]:
    return {name: bindparam(f"j_{name}", type_=JOBS.c[name].type) for name in JOB_VALUES}


def _audit_binds() -> dict[str, Any]:
    return {name: bindparam(f"a_{name}", type_=AUDIT.c[name].type) for name in AUDIT_VALUES}


@cache
def insert_job() -> Insert:
    """The job row (SQLite); its id returned. The ids found are `p_process_id`,
    `p_version_id`, `p_robot_id` (robot_id and requested_robot_id, as add_job),
    `p_group_id` and `p_task_id`."""
    robot = bindparam("p_robot_id", type_=JOBS.c.robot_id.type)
    return (
        insert(JOBS)
        .values(
            **_job_binds(),
            process_id=bindparam("p_process_id", type_=JOBS.c.process_id.type),
            process_version_id=bindparam("p_version_id", type_=JOBS.c.process_version_id.type),
            robot_id=robot,
            requested_robot_id=robot,
            robot_group_id=bindparam("p_group_id", type_=JOBS.c.robot_group_id.type),
            task_id=bindparam("p_task_id", type_=JOBS.c.task_id.type),
        )
        .returning(JOBS.c.id)
    )


def _key(name: str) -> Any:
    return literal_column(f"'{name}'", Text())


@cache
def postgres_create(
    process_kind: RefKind,
    robot_kind: RefKind | None,
    group_kind: RefKind | None = None,
    task_kind: RefKind | None = None,
) -> Select[Any]:
    """The whole create as one statement. Returns (job id, process id, process GUID,
    process name, version id, version GUID, robot id, robot GUID, robot name, group id,
    group GUID, task id, audit rows, the NOTIFY), one row, or none when a reference found
    nothing."""
    process = process_lookup(process_kind).cte("process")
    robot = robot_lookup(robot_kind).cte("robot") if robot_kind is not None else None
    group = group_lookup(group_kind).cte("robot_group") if group_kind is not None else None
    task = task_lookup(task_kind).cte("default_task") if task_kind is not None else None
    found_ids: dict[str, Any] = {
        "robot_id": robot.c.id if robot is not None else None,
        "requested_robot_id": robot.c.id if robot is not None else None,
        "robot_group_id": group.c.id if group is not None else None,
        "task_id": task.c.id if task is not None else None,
    }
    assert tuple(found_ids) == FOUND
    named = [cte for cte in (robot, group, task) if cte is not None]
    columns = {
        **_job_binds(),
        "process_id": process.c.id,
        "process_version_id": process.c.current_version_id,
        **found_ids,
    }
    source = select(*(_as_column(v, JOBS.c[k]) for k, v in columns.items())).select_from(process)
    for cte in named:
        source = source.join(cte, true())
    # A process with no current version (or its version gone) is the session path's 409.
    source = source.where(process.c.version_guid.is_not(None))
    job = (
        insert(JOBS)
        .from_select(list(columns), source)
        .returning(JOBS.c.id, JOBS.c.guid, JOBS.c.account_id, JOBS.c.robot_id)
        .cte("job")
    )
    # db.audit's "create" changes: the Python-side values (`a_changes`) and the ids found
    # (those not named are None, which db.audit leaves out).
    found: list[Any] = [
        _key("process_id"),
        process.c.id,
        _key("process_version_id"),
        process.c.current_version_id,
    ]
    for name, value in found_ids.items():
        if value is not None:
            found += [_key(name), value]
    changes = bindparam("a_changes", type_=JSONB()).op("||", return_type=JSONB())(
        func.jsonb_build_object(*found)
    )
    audit_columns = {
        **_audit_binds(),
        "object_id": job.c.id,
        "object_guid": job.c.guid,
        "changes": changes,
    }
    audit_source = select(*(_as_column(v, AUDIT.c[k]) for k, v in audit_columns.items()))
    audit_source = audit_source.select_from(job).join(process, true())
    for cte in named:
        audit_source = audit_source.join(cte, true())
    audit = (
        insert(AUDIT)
        .from_select(list(audit_columns), audit_source)
        .returning(AUDIT.c.id)
        .cte("audit")
    )
    audited = select(func.count()).select_from(audit).scalar_subquery()
    # runtime.wakeups.announce's payload: "<account>:<robot id, or 0 for any robot>".
    payload = bindparam("p_payload_account", type_=Text()) + cast(
        func.coalesce(job.c.robot_id, 0), Text()
    )
    notify = func.pg_notify(bindparam("p_channel", type_=Text()), payload)
    answer = select(
        job.c.id,
        process.c.id,
        process.c.guid,
        process.c.name,
        process.c.current_version_id,
        process.c.version_guid,
        *(
            (robot.c.id, robot.c.guid, robot.c.name)
            if robot is not None
            else (_null_int(), _null_text(), _null_text())
        ),
        *((group.c.id, group.c.guid) if group is not None else (_null_int(), _null_text())),
        task.c.id if task is not None else _null_int(),
        audited.label("audited"),
        notify.label("notified"),
    ).select_from(job.join(process, true()))
    for cte in named:
        answer = answer.join(cte, true())
    return answer


def _as_column(value: Any, column: Any) -> Any:
    """A source column of an INSERT ... SELECT: a NULL typed as the target column."""
    if value is None:
        return cast(null(), column.type)
    return value


def _null_int() -> Any:
    return literal_column("NULL::bigint")


def _null_text() -> Any:
    return literal_column("NULL::text")
