"""The job create's common case without the ORM: the first step of a dispatch.

crud.create_job's session path takes about seven round trips on PostgreSQL (find the
process, find the robot, INSERT the job, INSERT its audit row, NOTIFY, read the job back
joined, COMMIT). Its common case — a caller in no access folder and not a robot, a process
by name, GUID or id, a robot or a robot group (by GUID, id or name) or neither, a default
task (by GUID, id or name) or none — comes down to: resolve them, insert the job with
add_job's columns, record the audit row db.audit records for that insert, announce it
(runtime.wakeups), answer JobRead from what is known.
On PostgreSQL that is one statement on the driver pool, on the loop (db.job_create_statements); on
SQLite a few prepared statements in Database.raw_write, the wake-up after the group's COMMIT.

Anything else returns None with nothing written and the session path answers: a confined or
robot caller, a robot and a group both, StopAfter later than AbortAfter (their 422), and a
reference that finds nothing or a process without a current version (its 404 or 409 say
which).
Jobs are watched by no cache; the job metrics are read from the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, NamedTuple, overload

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from robofleet.server.db.audit import created_changes
from robofleet.server.db.base import utcnow
from robofleet.server.db.job_create_statements import (
    FOUND,
    JOB_DEFAULTS,
    JOB_VALUES,
    RefKind,
    group_lookup,
    insert_job,
    postgres_create,
    process_lookup,
    robot_lookup,
    task_lookup,
)
from robofleet.server.db.job_statements import insert_audit
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.raw_write import RawWrite
from robofleet.server.db.tables import JobRow
from robofleet.server.domain.jobs import JobStatus
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import Ref, classify_ref, new_guid
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.wakeups import ANY_ROBOT
from robofleet.server.schemas.jobs import JobCreate, JobRead
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.jobs import crud


@dataclass(frozen=True)
class _Plan:
    """A create the lean path makes: the references and the bound values."""

    process: Ref
    robot: Ref | None
    group: Ref | None
    task: Ref | None
    values: dict[str, Any]
    """The job's (`j_*`) and audit's (`a_*`) values, and the references' p_account,
    p_process, p_robot, p_group, p_task."""


class _Fallback(Exception):
    """A reference found nothing: undo the raw write (nothing was written yet)."""


def _scalar_default(name: str) -> Any:
    default = JobRow.__table__.c[name].default
    assert isinstance(default, ScalarElementColumnDefault)
    return default.arg


_DEFAULTS = {name: _scalar_default(name) for name in JOB_DEFAULTS}
"""The ORM's column defaults add_job leaves to the mapper (a prepared statement runs none)."""


def _ref(raw: int | str) -> Ref | None:
    try:
        return classify_ref(raw)
    except ValueError:
        return None  # the session path's 422 says why


def _plan(caller: Caller, data: JobCreate) -> _Plan | None:
    if (
        caller.principal.folder_ids is not None
        or caller.robot_id is not None
        or (data.robot is not None and data.robot_group is not None)
        or (data.stop_after and data.abort_after and data.abort_after < data.stop_after)
    ):
        return None
    process = _ref(data.process)
    robot = _ref(data.robot) if data.robot is not None else None
    group = _ref(data.robot_group) if data.robot_group is not None else None
    task = _ref(data.task) if data.task is not None else None
    if (
        process is None
        or (data.robot is not None and robot is None)
        or (data.robot_group is not None and group is None)
        or (data.task is not None and task is None)
    ):
        return None
    now = utcnow()
    job: dict[str, Any] = {
        # add_job's values, and the ORM's column defaults it leaves to the mapper.
        "guid": new_guid(),
        "is_deleted": False,
        "account_id": caller.account_id,
        "schedule_id": None,
        "status": int(JobStatus.PENDING),
        "source": data.source,
        "priority": data.priority,
        "parameters": data.parameters,
        "stop_after": data.stop_after,
        "abort_after": data.abort_after,
        "status_changed_at": now,
        **_DEFAULTS,
        "created_at": now,
        "updated_at": now,
    }
    actor = caller.actor()
    audit: dict[str, Any] = {
        "guid": new_guid(),
        "account_id": caller.account_id,
        "at": now,
        "actor_kind": actor.kind,
        "actor_guid": actor.guid,
        "actor_name": actor.name,
        "address": actor.address,
        "user_agent": actor.user_agent[:512],
        "action": "create",
        "object_type": JobRow.__audit_entity__,
        "message": f"create {JobRow.__audit_entity__} {job['guid']}",
    }
    values = {f"j_{k}": v for k, v in job.items()} | {f"a_{k}": v for k, v in audit.items()}
    values["p_account"] = caller.account_id
    values["p_process"] = process.value
    for name, ref in (("p_robot", robot), ("p_group", group), ("p_task", task)):
        if ref is not None:
            values[name] = ref.value
    return _Plan(process, robot, group, task, values)


def _changes(row: dict[str, Any]) -> dict[str, Any]:
    return created_changes(JobRow, row)


def _job_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: values[f"j_{name}"] for name in JOB_VALUES}


class _Found(NamedTuple):
    """What the lookups other than the process's found (None: not named)."""

    robot_id: int | None = None
    robot_guid: str | None = None
    robot_name: str | None = None
    group_id: int | None = None
    group_guid: str | None = None
    task_id: int | None = None

    def ids(self) -> dict[str, int | None]:
        """The job's columns they fill (db.job_create_statements.FOUND)."""
        ids = {
            "robot_id": self.robot_id,
            "requested_robot_id": self.robot_id,
            "robot_group_id": self.group_id,
            "task_id": self.task_id,
        }
        assert tuple(ids) == FOUND
        return ids


def _read(
    values: dict[str, Any], job_id: int, process: tuple[int, str, str, int, str], found: _Found
) -> JobRead:
    """views.job_read of the job as the session path holds it (its Python values: the
    parameters as given, not as JSONB orders them)."""
    process_id, process_guid, process_name, version_id, version_guid = process
    job = _job_values(values)
    return JobRead.model_validate(
        {
            **job,
            **found.ids(),
            "id": job_id,
            "process_id": process_id,
            "process_version_id": version_id,
            "return_value": None,
            "claimed_at": None,
            "started_at": None,
            "completed_at": None,
            "process_guid": process_guid,
            "process_name": process_name,
            "process_version_guid": version_guid,
            "robot_guid": found.robot_guid,
            "robot_name": found.robot_name,
            "robot_group_guid": found.group_guid,
            "status_name": JobStatus(job["status"]).label,
        }
    )


@cache
def _prepared(statement: ClauseElement, dialect: Dialect) -> PreparedStatement:
    return PreparedStatement(statement, dialect)


async def create_on_driver(runtime: Runtime, caller: Caller, data: JobCreate) -> JobRead | None:
    """crud.create_job on PostgreSQL's driver pool, in one statement; None where there is no
    pool (SQLite) or the session path answers (the statement then wrote nothing)."""
    pool = runtime.driver_pool
    if pool is None:
        return None
    caller.require(Screen.JOB, Action.CREATE)
    plan = _plan(caller, data)
    if plan is None:
        return None
    values = plan.values
    # The Python-side part of the audit's changes; the ids found are added by the statement
    # (robot ids only when a robot is named: db.audit leaves None out).
    values["a_changes"] = _changes(_job_values(values))
    values["p_channel"] = runtime.wakeups.channel
    values["p_payload_account"] = f"{caller.account_id}:"
    statement = postgres_create(
        _kind(plan.process), _kind(plan.robot), _kind(plan.group), _kind(plan.task)
    )
    rows = await pool.run(_prepared(statement, runtime.db.engine.dialect), values)
    if not rows:
        return None
    job_id, *process, _audited_rows, _notified = rows[0]
    return _read(values, job_id, tuple(process[:5]), _Found(*process[5:]))


@overload
def _kind(ref: Ref) -> RefKind: ...
@overload
def _kind(ref: None) -> None: ...
def _kind(ref: Ref | None) -> RefKind | None:
    return ref.kind if ref is not None else None


def lean_create(runtime: Runtime, caller: Caller, data: JobCreate) -> JobRead | None:
    """crud.create_job on SQLite's bare driver connection (Database.raw_write), or None."""
    if not runtime.db.raw_writes:
        return None
    caller.require(Screen.JOB, Action.CREATE)
    plan = _plan(caller, data)
    if plan is None:
        return None
    try:
        with runtime.db.raw_write() as write:
            return _create_raw(runtime, write, plan)
    except _Fallback:
        return None


def _create_raw(runtime: Runtime, write: RawWrite, plan: _Plan) -> JobRead:
    values = plan.values
    found = write.rows(process_lookup(_kind(plan.process)), values)
    if not found or found[0][3] is None or found[0][4] is None:
        raise _Fallback  # no such process (404), or no current version (409)
    process = found[0]
    robot = _one(write, robot_lookup, plan.robot, values) or (None, None, None)
    group = _one(write, group_lookup, plan.group, values) or (None, None)
    task = _one(write, task_lookup, plan.task, values) or (None,)
    named = _Found(*robot, *group, *task)
    values.update(
        p_process_id=process[0],
        p_version_id=process[3],
        p_robot_id=named.robot_id,
        p_group_id=named.group_id,
        p_task_id=named.task_id,
    )
    (job_id,) = write.rows(insert_job(), values)[0]
    job = _job_values(values) | named.ids()
    job |= {"process_id": process[0], "process_version_id": process[3]}
    values.update(a_changes=_changes(job), a_object_id=job_id, a_object_guid=values["j_guid"])
    write.rows(insert_audit(), values)
    # runtime.wakeups.announce without notifies (SQLite): the local wake-up, after COMMIT.
    payload = f"{job['account_id']}:{named.robot_id or ANY_ROBOT}"
    write.after_commit.append(partial(runtime.wakeups.on_notify, payload))
    return _read(values, job_id, tuple(process), named)


def _one(
    write: RawWrite,
    lookup: Callable[[RefKind], ClauseElement],
    ref: Ref | None,
    values: dict[str, Any],
) -> tuple[Any, ...] | None:
    """The lookup's row for `ref` (None when not named); no row: the session path's 404."""
    if ref is None:
        return None
    rows = write.rows(lookup(ref.kind), values)
    if not rows:
        raise _Fallback
    return tuple(rows[0])


def create_job(runtime: Runtime, caller: Caller, data: JobCreate) -> JobRead:
    """The lean create where it applies (SQLite here), else crud.create_job."""
    return lean_create(runtime, caller, data) or crud.create_job(runtime, caller, data)


def create_after_driver(runtime: Runtime, caller: Caller, data: JobCreate) -> JobRead:
    """The create the driver pool did not answer: on PostgreSQL its statement has run (and
    written nothing), so the session path answers; on SQLite the lean create is tried."""
    if runtime.driver_pool is not None:
        return crud.create_job(runtime, caller, data)
    return create_job(runtime, caller, data)
