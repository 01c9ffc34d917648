"""Sherpa's robot protocol (heartbeat, consumeNextJob) and Robofleet's waitJob.

Robot-protocol writes are not audited row by row (db.system_actors.ROBOT_PROTOCOL): they
happen every few seconds per robot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.contract import STOP_COMMAND, ConsumeCode, HeartbeatCode
from robofleet.server.db import claims
from robofleet.server.db.base import utcnow
from robofleet.server.db.system_actors import ROBOT_PROTOCOL
from robofleet.server.db.tables import JobRow, RobotRow
from robofleet.server.domain.errors import Forbidden
from robofleet.server.domain.jobs import FINAL, JobStatus, occupies_robot
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import is_guid
from robofleet.server.domain.robots import RobotStatus
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.robots import (
    ConsumeRequest,
    ConsumeResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    WaitJobRequest,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.fleet.robots import set_robot_status
from robofleet.server.services.jobs.lean_consume import (
    consume_on_driver,
    lean_consume,
    lean_values,
)
from robofleet.server.services.jobs.lean_heartbeat import lean_heartbeat
from robofleet.server.services.jobs.robocorp_runs import robocorp_document
from robofleet.server.services.jobs.state import change_job_status
from robofleet.server.services.jobs.views import (
    default_task_document,
    robot_documents,
    version_document,
)
from robofleet.server.services.tasks.leases import renew_for_robot


@dataclass(frozen=True)
class RobotIds:
    account_id: int
    robot_id: int


def _robot(session: Session, caller: Caller | None, robot_guid: str | None) -> RobotRow | None:
    """The calling robot. A robot's credentials name it; keys and users name it in the body."""
    if caller is None:
        return None
    principal = caller.principal
    if principal.robot_id is not None:
        if robot_guid and robot_guid.strip().lower() != principal.guid:
            raise Forbidden(
                "RobotGUID names another robot than the credentials", reason="robot_mismatch"
            )
        return claims.robot_by_id(session, principal.robot_id)
    caller.require(Screen.ROBOT, Action.UPDATE)
    if not robot_guid or not is_guid(robot_guid):
        return None
    return claims.robot_by_guid(session, caller.account_id, robot_guid.strip().lower())


def _version_document(runtime: Runtime, session: Session, job: JobRow) -> dict[str, Any]:
    cached = runtime.documents.get(job.process_version_id)
    if cached is not None:
        return cached
    generation = runtime.documents.generation
    document = version_document(session, job)
    runtime.documents.put(job.process_version_id, document, generation=generation)
    return document


def heartbeat(runtime: Runtime, caller: Caller | None, data: HeartbeatRequest) -> HeartbeatResponse:
    # A robot holding no job has nothing to reconcile: that common case skips the ORM.
    lean = lean_heartbeat(runtime, caller, data)
    return lean if lean is not None else session_heartbeat(runtime, caller, data)


def session_heartbeat(
    runtime: Runtime, caller: Caller | None, data: HeartbeatRequest
) -> HeartbeatResponse:
    """Every heartbeat, on ORM objects: the robot's jobs reconciled with what it reports."""
    with runtime.db.write(actor=ROBOT_PROTOCOL) as session:
        robot = _robot(session, caller, data.robot_guid)
        if robot is None:
            return HeartbeatResponse(
                heartbeat_error_code=HeartbeatCode.ROBOT_NOT_FOUND,
                error_text="robot GUID not found",
            )
        now = utcnow()
        robot.last_heartbeat_at = now
        for name in ("machine", "ip", "mac"):
            if getattr(data, name):
                setattr(robot, name, getattr(data, name))
        if data.version:
            robot.agent_version = data.version
        reported = RobotStatus(data.status)
        if reported in (RobotStatus.READY, RobotStatus.WORKING):
            set_robot_status(robot, reported)
        held = claims.jobs_held_by(session, robot.id)
        code = HeartbeatCode.OK
        running: JobRow | None = None
        if data.job_guid:
            code, running = _reconcile_running(session, robot, data.job_guid.strip().lower(), held)
        elif reported == RobotStatus.READY:
            _reconcile_idle(session, held)
        renew_for_robot(session, robot.id, running.id if running else None, now)
        if not robot.is_active:
            return HeartbeatResponse(
                heartbeat_error_code=code,
                active=0,
                command=STOP_COMMAND,
                error_text="the robot is switched off",
            )
        has_new = not any(
            occupies_robot(job.status, job.claimed_at is not None) for job in held
        ) and claims.has_job_for_robot(session, account_id=robot.account_id, robot_id=robot.id)
        return HeartbeatResponse(heartbeat_error_code=code, has_new_job=int(has_new))


def _reconcile_running(
    session: Session, robot: RobotRow, job_guid: str, held: list[JobRow]
) -> tuple[HeartbeatCode, JobRow | None]:
    """The robot says it runs `job_guid`: revive it if we had lost it; relay stop or abort.
    Returns the heartbeat code and the job if it still runs."""
    job = next((j for j in held if j.guid == job_guid), None) or session.scalar(
        select(JobRow)
        .where(JobRow.guid == job_guid, JobRow.account_id == robot.account_id)
        .with_for_update()
    )
    if job is None or job.robot_id != robot.id:
        return HeartbeatCode.OK, None
    status = JobStatus(job.status)
    if status == JobStatus.UNKNOWN:
        change_job_status(
            session,
            job,
            JobStatus.IN_PROGRESS,
            message="the robot called in again; the job is still running",
        )
    elif status == JobStatus.ABORTING or status in FINAL:
        return HeartbeatCode.ABORT_REQUESTED, None
    elif status == JobStatus.STOPPING:
        return HeartbeatCode.STOP_REQUESTED, job
    return HeartbeatCode.OK, job


def _reconcile_idle(session: Session, held: list[JobRow]) -> None:
    """The robot says it runs nothing: jobs it took but never started go back to the queue;
    jobs it had started have lost their outcome."""
    for job in held:
        if job.status == JobStatus.PENDING:
            job.claimed_at = None
            job.robot_id = job.requested_robot_id
        elif job.status == JobStatus.STOPPING:
            change_job_status(
                session, job, JobStatus.STOPPED, message="the robot reported it is idle"
            )
        elif job.status == JobStatus.ABORTING:
            change_job_status(
                session, job, JobStatus.ABORTED, message="the robot reported it is idle"
            )
        else:
            change_job_status(
                session,
                job,
                JobStatus.FAILED,
                message="the robot reported it is idle; the job's outcome was lost",
            )


def consume_next_job(
    runtime: Runtime, caller: Caller | None, data: ConsumeRequest
) -> ConsumeResponse:
    # A robot switched on and holding no job, given a plain job or none: that common case
    # skips the ORM (services.jobs.lean_consume).
    lean = lean_consume(runtime, caller, data)
    return lean if lean is not None else session_consume_next_job(runtime, caller, data)


def consume_after_driver(
    runtime: Runtime, caller: Caller | None, data: ConsumeRequest
) -> ConsumeResponse:
    """The consume the driver pool did not answer (lean_consume.consume_on_driver): on
    PostgreSQL with a pool its lean statement has run and written nothing, so the session
    path answers; without a pool (SQLite) `consume_next_job` tries its own lean path first."""
    if runtime.driver_pool is not None:
        return session_consume_next_job(runtime, caller, data)
    return consume_next_job(runtime, caller, data)


async def consume_on_loop(
    runtime: Runtime, caller: Caller | None, data: ConsumeRequest
) -> ConsumeResponse:
    """consumeNextJob from the event loop: PostgreSQL's driver pool where it answers, else
    the blocking path on a thread."""
    lean = await consume_on_driver(runtime, caller, data)
    if lean is not None:
        return lean
    return await asyncio.to_thread(consume_after_driver, runtime, caller, data)


def session_consume_next_job(
    runtime: Runtime, caller: Caller | None, data: ConsumeRequest
) -> ConsumeResponse:
    """Every consume, on ORM objects: the reference the lean path answers alike."""
    with runtime.db.write(actor=ROBOT_PROTOCOL) as session:
        robot = _robot(session, caller, data.robot_guid)
        if robot is None:
            return ConsumeResponse(
                consume_job_error_code=ConsumeCode.ROBOT_NOT_FOUND,
                error_text="robot GUID not found",
            )
        now = utcnow()
        robot.last_heartbeat_at = now
        if robot.status == RobotStatus.DISCONNECTED:
            set_robot_status(robot, RobotStatus.READY)
        if not robot.is_active:
            return ConsumeResponse(
                consume_job_error_code=ConsumeCode.NO_NEW_JOB,
                error_text="the robot is switched off",
            )
        busy = next(iter(claims.jobs_held_by(session, robot.id)), None)
        if busy is not None:
            return ConsumeResponse(
                consume_job_error_code=ConsumeCode.NO_NEW_JOB,
                error_text=f"the robot already holds job {busy.guid}",
            )
        job = claims.next_job_for_robot(session, account_id=robot.account_id, robot_id=robot.id)
        if job is None:
            return ConsumeResponse(
                consume_job_error_code=ConsumeCode.NO_NEW_JOB, error_text="no new job"
            )
        job.claimed_at = now
        job.robot_id = robot.id
        version = _version_document(runtime, session, job)
        job.package_sha256 = version["Sha256"]
        robocorp = robocorp_document(runtime, session, job, version)
        job_doc, version_doc = robot_documents(job, version, robocorp=robocorp)
        return ConsumeResponse(
            consume_job_error_code=ConsumeCode.JOB_GIVEN,
            job=job_doc,
            process_version=version_doc,
            task=default_task_document(session, job),
        )


def _own_ids(caller: Caller | None, robot_guid: str | None) -> RobotIds | None:
    """A robot's own credentials name it: no lookup. Whether it still exists is the
    consume's to find (it answers ROBOT_NOT_FOUND as the lookup would have)."""
    if lean_values(caller, robot_guid) is None:
        return None
    assert caller is not None and caller.principal.robot_id is not None
    return RobotIds(caller.principal.account_id, caller.principal.robot_id)


def _robot_ids(runtime: Runtime, caller: Caller, robot_guid: str | None) -> RobotIds | None:
    with runtime.db.read() as session:
        robot = _robot(session, caller, robot_guid)
        return RobotIds(robot.account_id, robot.id) if robot else None


async def wait_job(
    runtime: Runtime,
    caller: Caller | None,
    data: WaitJobRequest,
    *,
    client_gone: Callable[[], Awaitable[None]] | None = None,
) -> ConsumeResponse:
    """Take the next job, waiting up to `timeout` seconds for one to be created.

    `client_gone()` completes when the robot closes the connection: an agent does that to stop
    at once. The wait then ends, and a job taken for it in that moment goes back to the queue
    (nobody is left to read the answer), so a job never waits for a robot that has left."""
    consume = ConsumeRequest(robot_guid=data.robot_guid)
    ids = _own_ids(caller, data.robot_guid)
    if ids is None and caller is not None:
        ids = await asyncio.to_thread(_robot_ids, runtime, caller, data.robot_guid)
    if ids is None:
        return ConsumeResponse(
            consume_job_error_code=ConsumeCode.ROBOT_NOT_FOUND, error_text="robot GUID not found"
        )
    gone = asyncio.ensure_future(client_gone()) if client_gone is not None else None
    deadline = time.monotonic() + data.timeout
    try:
        while True:
            # Register first, then look: a job committed in between still wakes us.
            wake = runtime.wakeups.register(ids.account_id, ids.robot_id)
            try:
                result = await consume_on_loop(runtime, caller, consume)
                if gone is not None and gone.done():
                    if result.consume_job_error_code == ConsumeCode.JOB_GIVEN:
                        await asyncio.to_thread(_hand_back_untouched, runtime, ids)
                    return result
                remaining = deadline - time.monotonic()
                if result.consume_job_error_code != ConsumeCode.NO_NEW_JOB or remaining <= 0:
                    return result
                awaited: set[asyncio.Future[Any]] = {wake} if gone is None else {wake, gone}
                done, _ = await asyncio.wait(
                    awaited, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if not done or gone in done:
                    return result
            finally:
                runtime.wakeups.unregister(ids.account_id, ids.robot_id, wake)
    finally:
        if gone is not None:
            gone.cancel()


def _hand_back_untouched(runtime: Runtime, ids: RobotIds) -> None:
    """The robot left while a job was being taken for it: the job, not started, goes back
    to the queue (as a Ready heartbeat would do) and the robots that wait hear of it."""
    with runtime.db.write(actor=ROBOT_PROTOCOL) as session:
        for job in claims.jobs_held_by(session, ids.robot_id):
            if job.status == JobStatus.PENDING:
                job.claimed_at = None
                job.robot_id = job.requested_robot_id
                runtime.wakeups.announce(session, ids.account_id, job.robot_id)
