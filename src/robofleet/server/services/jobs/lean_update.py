"""The job update's common case without the ORM: a robot reporting on its own job, named by
GUID: In Progress or an ending (Success, Failed, Stopped, Aborted), progress, a message, a
return value (what the agent sends while it runs a job and when it ends: robot.execution,
robot.outbox).

The session path (crud.session_update_job) loads the job and its robot as ORM objects; for
this case its work is: the guarded status move (domain.jobs.check_transition, here the
statuses a move is allowed from, in the statement's WHERE), the times of
jobs.state.change_job_status, the claim of a robot that did not consume the job, the robot's
Working/Ready follow (jobs.state._follow_robot) and the audit entry its flush writes for the
job's audited columns (db.audit; the robot's status is activity, not audited, and empties no
cache: runtime.caches). Nothing else follows a job's status on that path: metrics count
jobs from the table, continuous triggers poll, no wake-up is announced.

On PostgreSQL that is one statement (db.job_statements) on the driver pool, on the event
loop; on SQLite prepared statements in the group writer's turn (Database.raw_write).

Anything else returns None with nothing changed and the session path answers: a caller that
is not a robot (or confined to access folders), a job named by id or name, Failed, Stopped
or Aborted while the job holds In Progress tasks its end fails (jobs.state.fail_tasks_of_job;
their queues may retry them), Stopping or Aborting (an operator's request), priority or time
limits, a return value of null, a request that sends nothing, a Robocorp job, and any job
the guarded statement leaves alone (not found, not the robot's, a refused transition: the
session path's 404 or 409).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import inspect

from robofleet.server.db.audit import AuditActor, plain
from robofleet.server.db.base import utcnow
from robofleet.server.db.job_statements import (
    AUDITED,
    LEAN_STATUSES,
    OLD_COLUMNS,
    STATUS_COLUMNS,
    insert_audit,
    postgres_update,
    sqlite_old_job,
    sqlite_robot_status,
    sqlite_set_robot_status,
    sqlite_write_job,
    sqlite_write_return,
)
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.raw_write import RawWrite
from robofleet.server.db.tables import JobRow
from robofleet.server.domain.jobs import FINAL, JobStatus, check_transition
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import classify_ref, new_guid
from robofleet.server.domain.robots import RobotStatus
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.jobs import JobUpdate
from robofleet.server.services.access.caller import Caller

_LIMITS = ("priority", "stop_after", "abort_after")


def _values(caller: Caller, data: JobUpdate) -> dict[str, Any] | None:
    """The statement's values for the common case, or None: the session path answers."""
    principal = caller.principal
    robot_id = principal.robot_id
    if robot_id is None or principal.folder_ids is not None:
        return None
    if not principal.permissions.allows(Screen.JOB, Action.UPDATE):
        return None  # the session path refuses it
    fields = data.model_fields_set
    if any(name in fields and getattr(data, name) is not None for name in _LIMITS):
        return None
    status = JobStatus(data.status) if data.status is not None else None
    if status is not None and status not in LEAN_STATUSES:
        return None
    sets_return = "return_value" in fields
    if sets_return and data.return_value is None:
        return None  # JSON null: left to the ORM's reading of None
    if status is None and data.progress is None and data.message is None and not sets_return:
        return None  # nothing to write: the session path writes nothing either
    try:
        ref = classify_ref(data.guid)
    except ValueError:
        return None
    if ref.kind != "guid":
        return None
    return {
        "status": status,
        "sets_return": sets_return,
        "p_guid": ref.value,
        "p_account": principal.account_id,
        "p_robot": robot_id,
        "p_now": utcnow(),
        "p_progress": data.progress,
        "p_message": data.message[:10_000] if data.message is not None else None,
        "p_return": data.return_value,
    }


def _actor_values(actor: AuditActor) -> dict[str, Any]:
    return {
        "p_audit_guid": new_guid(),
        "p_actor_kind": actor.kind,
        "p_actor_guid": actor.guid,
        "p_actor_name": actor.name,
        "p_address": actor.address,
        "p_user_agent": actor.user_agent[:512],
    }


@cache
def _postgres(status: JobStatus | None, sets_return: bool, dialect: Any) -> PreparedStatement:
    return PreparedStatement(postgres_update(status, sets_return), dialect)


async def update_on_driver(runtime: Runtime, caller: Caller, data: JobUpdate) -> list[Any] | None:
    """The update on PostgreSQL's async driver pool, on the event loop: `[]` (the route's
    answer) once written, or None where there is no pool (SQLite) or the session path
    answers (the guarded statement then wrote nothing)."""
    pool = runtime.driver_pool
    values = _values(caller, data) if pool is not None else None
    if pool is None or values is None:
        return None
    statement = _postgres(values["status"], values["sets_return"], runtime.db.engine.dialect)
    rows = await pool.run(statement, {**values, **_actor_values(caller.actor())})
    return [] if rows else None


def update_on_sqlite(runtime: Runtime, caller: Caller, data: JobUpdate) -> bool:
    """The update in the group writer's turn (SQLite); False: nothing written, the session
    path answers."""
    if not runtime.db.raw_writes:
        return False
    values = _values(caller, data)
    if values is None:
        return False
    with runtime.db.raw_write() as write:
        rows = write.rows(sqlite_old_job(values["status"]), values)
        if not rows:
            return False
        _write(write, values, dict(zip(OLD_COLUMNS, rows[0], strict=True)), caller.actor())
    return True


def _write(write: RawWrite, values: dict[str, Any], old: dict[str, Any], actor: AuditActor) -> None:
    """crud.update_job and jobs.state.change_job_status on the job as it was (`old`)."""
    now: datetime = values["p_now"]
    status: JobStatus | None = values["status"]
    new = dict(old)
    progress = values["p_progress"]
    message = values["p_message"]
    changing = status is not None and status != old["status"]
    if status is not None and changing:
        check_transition(JobStatus(old["status"]), status)  # the guard allowed it already
        if status == JobStatus.IN_PROGRESS and old["claimed_at"] is None:
            new["claimed_at"], new["robot_id"] = now, values["p_robot"]
        new["status"] = int(status)
        new["status_changed_at"] = now
        if status == JobStatus.IN_PROGRESS and old["started_at"] is None:
            new["started_at"] = now
        if status in FINAL:
            new["completed_at"] = now
            if status == JobStatus.SUCCESS:
                progress = 100
    write.rows(
        sqlite_write_job(),
        {
            "p_job": old["id"],
            "p_now": now,
            **{f"v_{name}": new[name] for name in STATUS_COLUMNS},
            "v_progress": progress,
            "v_last_message": message,
        },
    )
    if values["sets_return"]:
        new["return_value"] = values["p_return"]
        write.rows(
            sqlite_write_return(),
            {"p_job": old["id"], "p_return": values["p_return"], "p_now": now},
        )
    if status is not None and changing:
        _follow_robot(write, new["robot_id"], status, now)
    changes = {
        name: {"from": plain(old[name]), "to": plain(new[name])}
        for name in _audit_order()
        if old[name] != new[name]
    }
    if changes:
        write.rows(insert_audit(), _audit_entry(actor, old, changes, now))


def _follow_robot(write: RawWrite, robot_id: int | None, status: JobStatus, now: datetime) -> None:
    """jobs.state._follow_robot on the bare connection; only a real change is written."""
    if robot_id is None:
        return
    rows = write.rows(sqlite_robot_status(), {"p_robot": robot_id})
    if not rows or rows[0][0] == RobotStatus.DISCONNECTED:
        return
    current = rows[0][0]
    target: RobotStatus | None = None
    if status == JobStatus.IN_PROGRESS:
        target = RobotStatus.WORKING
    elif status in FINAL and current == RobotStatus.WORKING:
        target = RobotStatus.READY
    if target is not None and current != target:
        write.rows(
            sqlite_set_robot_status(), {"p_robot": robot_id, "v_status": int(target), "p_now": now}
        )


@cache
def _audit_order() -> tuple[str, ...]:
    """AUDITED in the mapper's order, the order db.audit lists the changes in."""
    return tuple(attr.key for attr in inspect(JobRow).column_attrs if attr.key in AUDITED)


def _audit_entry(
    actor: AuditActor, old: dict[str, Any], changes: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """db.audit._entry for the job: an update by `actor`."""
    entry = {
        "guid": new_guid(),
        "account_id": old["account_id"],
        "at": now,
        "actor_kind": actor.kind,
        "actor_guid": actor.guid,
        "actor_name": actor.name,
        "address": actor.address,
        "user_agent": actor.user_agent[:512],
        "action": "update",
        "object_type": "job",
        "object_id": old["id"],
        "object_guid": old["guid"],
        "changes": changes,
        "message": f"update job {old['guid']}",
    }
    return {f"a_{name}": value for name, value in entry.items()}
