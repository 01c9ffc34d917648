"""The lean job update's statements (services.jobs.lean_update), built once per request shape.

A robot reporting on its own job (In Progress or an ending, progress, a message, a return
value) changes one job row, may move its robot between Ready and Working (jobs.state._follow_robot)
and, when an audited column of the job changes, writes the audit entry the session path's
flush writes (db.audit). Each statement is built for one target status (None: no status
sent) and whether a return value is written, so the transition's rules are constants of the
SQL: the statuses the job may move from (domain.jobs.ALLOWED, computed in Python by
`from_statuses`) and the columns that follow from the target (jobs.state.change_job_status).
An ending that fails the job's tasks is guarded by there being none to fail.

- PostgreSQL: one statement. A CTE locks and reads the job as it was (the audit's "from"
  values), the UPDATE writes it, a second UPDATE follows the robot and an INSERT writes the
  audit entry, its changes built in SQL in the session path's form (timestamps as Python's
  `isoformat()` of a UTC datetime).
- SQLite: the same guard as a SELECT of the job as it was; the new values are computed in
  Python (lean_update) and written by id, in the group writer's turn.

Bound parameters: p_guid, p_account, p_robot, p_now, p_progress, p_message (None: kept),
p_return (with a return value) and, on PostgreSQL, the audit entry's p_audit_guid,
p_actor_kind, p_actor_guid, p_actor_name, p_address, p_user_agent.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Update,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    literal_column,
    not_,
    or_,
    select,
    update,
)

from robofleet.server.db.base import literal_int
from robofleet.server.db.core_tables import AUDIT, JOBS, QUEUES, ROBOTS, VERSIONS
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.db.task_statements.timers import failing_with_job
from robofleet.server.domain.jobs import ALLOWED, FAILS_TASKS, FINAL, JobStatus
from robofleet.server.domain.robots import RobotStatus

ROBOCORP_KIND = "robocorp"
"""The process version Kind of a Robocorp robot's package (services.jobs.state.is_robocorp)."""

LEAN_STATUSES = frozenset({JobStatus.IN_PROGRESS, *FINAL})
"""The statuses a robot reports that the lean path writes; Stopping and Aborting are an
operator's requests (jobs.state.request_stop, request_abort). Of the endings, those that
fail the job's tasks (FAILS_TASKS) are written here only where the job has none to fail."""

AUDITED = (
    "robot_id",
    "status",
    "return_value",
    "claimed_at",
    "started_at",
    "completed_at",
    "status_changed_at",
)
"""The job's audited columns the update may change, in the order the session path's audit
lists them (the mapper's column order; progress and last_message are not audited)."""

STATUS_COLUMNS = (
    "status",
    "status_changed_at",
    "started_at",
    "completed_at",
    "claimed_at",
    "robot_id",
)
"""The columns a status move writes (change_job_status, crud._apply_status's claim)."""

OLD_COLUMNS = ("id", "guid", "account_id", *AUDITED)
"""The job as it was, as the guard reads it: the audit's "from" values."""


def from_statuses(status: JobStatus | None) -> tuple[int, ...] | None:
    """The statuses a job may have for a report of `status`: those the transition table
    allows to move to it, and `status` itself (no change: update_job leaves the status
    alone). None: no status sent, any status."""
    if status is None:
        return None
    allowed = {current for current, targets in ALLOWED.items() if status in targets}
    return tuple(sorted({*allowed, status}))


def _now() -> Any:
    return bindparam("p_now", type_=JOBS.c.status_changed_at.type)


def _guard(status: JobStatus | None) -> list[ColumnElement[bool]]:
    """The robot's own live job by GUID (access.lookup.find for a robot), not a Robocorp
    job (its end settles work items), in a status the report may move it from."""
    robocorp = exists().where(
        VERSIONS.c.id == JOBS.c.process_version_id, VERSIONS.c.kind == ROBOCORP_KIND
    )
    conditions = [
        JOBS.c.guid == bindparam("p_guid"),
        JOBS.c.account_id == bindparam("p_account"),
        JOBS.c.is_deleted == false(),
        JOBS.c.robot_id == bindparam("p_robot"),
        not_(robocorp),
    ]
    statuses = from_statuses(status)
    if statuses is not None:
        conditions.append(JOBS.c.status.in_([literal_int(s) for s in statuses]))
    if status in FAILS_TASKS:
        # Failing them (and retrying them, as their queues say) is the session path's.
        to_fail = exists().where(QUEUES.c.id == TASKS.c.queue_id, *failing_with_job(JOBS.c.id))
        conditions.append(not_(to_fail))
    return conditions


def _old_job(status: JobStatus | None) -> Select[Any]:
    return select(*(JOBS.c[name] for name in OLD_COLUMNS)).where(*_guard(status))


@cache
def sqlite_old_job(status: JobStatus | None) -> Select[Any]:
    """The job as it was, if the report applies to it (PostgreSQL's CTE locks it too)."""
    return _old_job(status)


@cache
def sqlite_write_job() -> Update:
    """Writes every column the update may change, by id, with values computed in Python
    (v_<column> for each of STATUS_COLUMNS, v_progress and v_last_message)."""
    values: dict[str, Any] = {
        name: bindparam(f"v_{name}", type_=JOBS.c[name].type) for name in STATUS_COLUMNS
    }
    # None keeps the stored value (not sent).
    values["progress"] = func.coalesce(
        bindparam("v_progress", type_=JOBS.c.progress.type), JOBS.c.progress
    )
    values["last_message"] = func.coalesce(
        bindparam("v_last_message", type_=JOBS.c.last_message.type), JOBS.c.last_message
    )
    values["updated_at"] = _now()
    return update(JOBS).where(JOBS.c.id == bindparam("p_job")).values(**values)


@cache
def sqlite_write_return() -> Update:
    return (
        update(JOBS)
        .where(JOBS.c.id == bindparam("p_job"))
        .values(
            return_value=bindparam("p_return", type_=JOBS.c.return_value.type),
            # The ORM's onupdate, written out: a prepared statement runs no column defaults.
            updated_at=_now(),
        )
    )


@cache
def sqlite_robot_status() -> Select[Any]:
    return select(ROBOTS.c.status).where(ROBOTS.c.id == bindparam("p_robot"))


@cache
def sqlite_set_robot_status() -> Update:
    return (
        update(ROBOTS)
        .where(ROBOTS.c.id == bindparam("p_robot"))
        .values(status=bindparam("v_status", type_=ROBOTS.c.status.type), updated_at=_now())
    )


@cache
def insert_audit() -> Any:
    """One audit entry, every value given (SQLite: the changes built in Python)."""
    return insert(AUDIT).values(
        {
            column.name: bindparam(f"a_{column.name}", type_=column.type)
            for column in AUDIT.c
            if column.name != "id"
        }
    )


def iso_text(column: Any) -> Any:
    """`column` (a timestamp) as Python's isoformat() of the UTC datetime: microseconds
    only when there are some, the offset written +00:00. NULL stays NULL."""
    utc = func.timezone(literal_column("'UTC'"), column)
    whole = func.date_part(literal_column("'microseconds'"), column).cast(JOBS.c.progress.type)
    fraction = case(
        (func.mod(whole, literal_int(1_000_000)) == literal_int(0), literal_column("''")),
        else_=func.to_char(utc, literal_column("'.US'")),
    )
    seconds = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    return seconds.op("||")(fraction).op("||")(literal_column("'+00:00'"))


def _json_value(name: str, column: Any) -> Any:
    if name == "return_value":
        return column
    if name.endswith("_at"):
        return iso_text(column)
    return column


def _changes(old: Any, new: Any, written: Iterable[str]) -> Any:
    """The audit's `changes`: {"column": {"from": old, "to": new}} for each audited column
    the statement writes whose value changed (db.audit._column_changes)."""
    empty: Any = literal_column("'{}'::jsonb")
    total: Any = empty
    for name in (name for name in AUDITED if name in written):
        before, after = old.c[name], new.c[f"new_{name}"]
        entry = func.jsonb_build_object(
            literal_column(f"'{name}'"),
            func.jsonb_build_object(
                literal_column("'from'"),
                _json_value(name, before),
                literal_column("'to'"),
                _json_value(name, after),
            ),
        )
        total = total.op("||")(case((before.is_distinct_from(after), entry), else_=empty))
    return total


def _new_values(old: Any, status: JobStatus | None, sets_return: bool) -> dict[str, Any]:
    """change_job_status's and update_job's columns, from the job as it was (`old`)."""
    values: dict[str, Any] = {
        "updated_at": _now(),
        "last_message": func.coalesce(
            bindparam("p_message", type_=JOBS.c.last_message.type), JOBS.c.last_message
        ),
        "progress": func.coalesce(
            bindparam("p_progress", type_=JOBS.c.progress.type), JOBS.c.progress
        ),
    }
    if sets_return:
        values["return_value"] = bindparam("p_return", type_=JOBS.c.return_value.type)
    if status is None:
        return values
    changing = old.c.status != literal_int(status)
    values["status"] = literal_int(status)
    values["status_changed_at"] = case((changing, _now()), else_=old.c.status_changed_at)
    if status == JobStatus.IN_PROGRESS:
        values["started_at"] = case(
            (and_(changing, old.c.started_at.is_(None)), _now()), else_=old.c.started_at
        )
        # A robot that did not consume the job takes it by starting it (crud._apply_status).
        claims = and_(changing, old.c.claimed_at.is_(None))
        values["claimed_at"] = case((claims, _now()), else_=old.c.claimed_at)
        values["robot_id"] = case((claims, bindparam("p_robot")), else_=old.c.robot_id)
    if status in FINAL:
        values["completed_at"] = case((changing, _now()), else_=old.c.completed_at)
        if status == JobStatus.SUCCESS:
            values["progress"] = case((changing, literal_int(100)), else_=values["progress"])
    return values


def _robot_follow(job: Any, status: JobStatus) -> Update:
    """jobs.state._follow_robot: a connected robot is Working while it runs the job and
    Ready when it ends; only when the status changes, and only a real change is written
    (the ORM writes nothing when the value stays)."""
    changing = job.c.old_status != literal_int(status)
    conditions = [
        ROBOTS.c.id == job.c.new_robot_id,
        changing,
        ROBOTS.c.status != literal_int(RobotStatus.DISCONNECTED),
    ]
    if status == JobStatus.IN_PROGRESS:
        conditions.append(ROBOTS.c.status != literal_int(RobotStatus.WORKING))
        target = RobotStatus.WORKING
    else:
        conditions.append(ROBOTS.c.status == literal_int(RobotStatus.WORKING))
        target = RobotStatus.READY
    return update(ROBOTS).where(*conditions).values(status=literal_int(target), updated_at=_now())


def _audit_insert(old: Any, job: Any, written: Iterable[str]) -> Any:
    changes = (
        select(job.c.new_id, _changes(old, job, written).label("changes"))
        .where(old.c.id == job.c.new_id)
        .subquery("changed")
    )
    entry = select(
        bindparam("p_audit_guid", type_=AUDIT.c.guid.type),
        job.c.new_account_id,
        _now(),
        bindparam("p_actor_kind", type_=AUDIT.c.actor_kind.type),
        bindparam("p_actor_guid", type_=AUDIT.c.actor_guid.type),
        bindparam("p_actor_name", type_=AUDIT.c.actor_name.type),
        bindparam("p_address", type_=AUDIT.c.address.type),
        bindparam("p_user_agent", type_=AUDIT.c.user_agent.type),
        literal_column("'update'"),
        literal_column("'job'"),
        job.c.new_id,
        job.c.new_guid,
        changes.c.changes,
        literal_column("'update job '").op("||")(job.c.new_guid),
    ).where(
        changes.c.new_id == job.c.new_id,
        changes.c.changes != literal_column("'{}'::jsonb"),
    )
    columns = (
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
        "object_id",
        "object_guid",
        "changes",
        "message",
    )
    return insert(AUDIT).from_select(columns, entry).returning(AUDIT.c.id)


@cache
def postgres_update(status: JobStatus | None, sets_return: bool) -> Select[Any]:
    """Returns (job id, robots followed, audit entries) for the job written; no row when
    the guard left the job alone. A return value is written over none only: whether a new
    one equals a stored one is Python's `==` on the session path (1 == 1.0 == true), which
    jsonb does not share, so replacing one is left to that path."""
    found = _old_job(status)
    if sets_return:
        found = found.where(
            or_(
                JOBS.c.return_value.is_(None),
                JOBS.c.return_value == literal_column("'null'::jsonb"),
            )
        )
    old = found.with_for_update().cte("old")
    returned = [JOBS.c[name].label(f"new_{name}") for name in OLD_COLUMNS]
    values = _new_values(old, status, sets_return)
    job = (
        update(JOBS)
        .where(JOBS.c.id == old.c.id)
        .values(**values)
        .returning(*returned, old.c.status.label("old_status"))
        .cte("job")
    )
    counts: list[Any] = []
    if status is not None:
        robot = _robot_follow(job, status).returning(ROBOTS.c.id).cte("robot")
        counts.append(select(func.count()).select_from(robot).scalar_subquery())
    else:
        counts.append(literal_int(0))
    audit = _audit_insert(old, job, values).cte("audit")
    counts.append(select(func.count()).select_from(audit).scalar_subquery())
    return select(job.c.new_id, *counts).select_from(job)
