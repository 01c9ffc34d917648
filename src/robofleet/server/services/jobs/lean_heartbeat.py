"""The heartbeat's common case without the ORM: a robot calling with its own credentials,
naming no job and holding none.

The session path (robot_protocol.heartbeat) loads the robot and its held jobs as ORM
objects to reconcile them; a robot that holds no job has nothing to reconcile, and its
heartbeat comes down to: write the activity columns (last_heartbeat_at, status when it
reports Ready or Working, machine/ip/mac/version when given), renew its leases of no job,
answer a stop command if it is switched off, else whether a job waits for it. That is one
statement (db.robot_statements) on the bare driver, plus the lease renewals on SQLite.

Anything else returns None and the caller takes the session path, which answers it (robot
not found, deleted, another robot named, a job named or held, a key's or user's call). The
guarded UPDATE writes nothing in those cases, so falling back repeats nothing.

The activity columns change no cached row (runtime.caches skips them too): nothing is
invalidated. Robot counts by status (metrics) are read from the table.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from robofleet.contract import STOP_COMMAND, HeartbeatCode
from robofleet.server.db.base import utcnow
from robofleet.server.db.driver import driver_write
from robofleet.server.db.prepared import DBAPIConnection
from robofleet.server.db.robot_statements import (
    DEFAULT_LEASE_SECONDS,
    HeartbeatStatements,
    heartbeat_statements,
)
from robofleet.server.domain.robots import RobotStatus
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.robots import HeartbeatRequest, HeartbeatResponse
from robofleet.server.services.access.caller import Caller

_WRITTEN_STATUSES = (RobotStatus.READY, RobotStatus.WORKING)


def _values(caller: Caller | None, data: HeartbeatRequest) -> dict[str, Any] | None:
    """The statement's values for the common case, or None: the session path answers."""
    robot_id = caller.principal.robot_id if caller is not None else None
    if caller is None or robot_id is None or data.job_guid:
        return None
    principal = caller.principal
    if data.robot_guid and data.robot_guid.strip().lower() != principal.guid:
        return None  # the session path refuses it
    reported = RobotStatus(data.status)
    return {
        "p_robot": robot_id,
        "p_account": principal.account_id,
        "p_now": utcnow(),
        "p_status": int(reported) if reported in _WRITTEN_STATUSES else None,
        # Empty means "not sent": the stored value stays (as on the session path).
        "p_machine": data.machine or None,
        "p_ip": data.ip or None,
        "p_mac": data.mac or None,
        "p_version": data.version or None,
    }


def _answer(is_active: bool, job_waits: bool) -> HeartbeatResponse:
    if not is_active:
        return HeartbeatResponse(
            heartbeat_error_code=HeartbeatCode.OK,
            active=0,
            command=STOP_COMMAND,
            error_text="the robot is switched off",
        )
    return HeartbeatResponse(heartbeat_error_code=HeartbeatCode.OK, has_new_job=int(job_waits))


def lean_heartbeat(
    runtime: Runtime, caller: Caller | None, data: HeartbeatRequest
) -> HeartbeatResponse | None:
    """The answer of the session path for the common case, or None to take that path."""
    values = _values(caller, data)
    if values is None:
        return None
    statements = heartbeat_statements(runtime.db.engine.dialect)
    with driver_write(runtime.db) as connection:
        rows = statements.heartbeat.run(connection, values)
        if not rows:
            return None  # not this account's live robot, or it holds a job
        is_active, job_waits, leases = rows[0]
        if leases and not statements.postgres:
            _renew_leases(statements, connection, values["p_robot"], values["p_now"])
    return _answer(is_active, job_waits)


async def heartbeat_on_driver(
    runtime: Runtime, caller: Caller, data: HeartbeatRequest
) -> HeartbeatResponse | None:
    """lean_heartbeat on PostgreSQL's async driver pool (db.driver_pool), on the event loop:
    its one statement renews the leases too. None where there is no pool (SQLite) or the
    session path answers (the guarded statement then wrote nothing)."""
    pool = runtime.driver_pool
    values = _values(caller, data) if pool is not None else None
    if pool is None or values is None:
        return None
    statements = heartbeat_statements(runtime.db.engine.dialect)
    assert statements.postgres, "the driver pool is PostgreSQL's"
    rows = await pool.run(statements.heartbeat, values)
    if not rows:
        return None
    is_active, job_waits, _leases = rows[0]
    return _answer(is_active, job_waits)


def _renew_leases(
    statements: HeartbeatStatements, connection: DBAPIConnection, robot_id: int, now: datetime
) -> None:
    """As services.tasks.leases.renew_for_robot for a robot running no job."""
    for task_id, seconds in statements.leases.run(connection, {"p_robot": robot_id}):
        expires = now + timedelta(seconds=seconds or DEFAULT_LEASE_SECONDS)
        statements.extend.run_no_rows(connection, {"p_task": task_id, "p_expires": expires})
