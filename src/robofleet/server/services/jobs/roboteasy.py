"""Roboteasy's integration API over jobs: a computer is a robot, a Roboteasy robot a process."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import JobRow, LogRow
from robofleet.server.domain.errors import Forbidden, NotFound, Unauthenticated
from robofleet.server.domain.jobs import FINAL, JobStatus
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.security import IssuedToken
from robofleet.server.schemas.jobs import JobCreate
from robofleet.server.schemas.roboteasy import (
    RoboteasyLog,
    RoboteasyLogin,
    RoboteasyResult,
    RoboteasyRun,
)
from robofleet.server.services.access import auth
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.fleet.robots import find_robot
from robofleet.server.services.jobs.crud import find_job, insert_job
from robofleet.server.services.jobs.state import change_job_status, request_stop

STATUS_NAMES = {
    JobStatus.CREATED: "PENDENT",
    JobStatus.PENDING: "PENDENT",
    JobStatus.IN_PROGRESS: "RUNNING",
    JobStatus.STOPPING: "STOPPING",
    JobStatus.ABORTING: "ABORTING",
    JobStatus.UNKNOWN: "UNKNOWN",
    JobStatus.SUCCESS: "SUCCESS",
    JobStatus.FAILED: "ERROR",
    JobStatus.STOPPED: "STOPPED",
    JobStatus.ABORTED: "ABORTED",
}
"""Only PENDENT appears in Roboteasy's documentation; the rest follow its style."""

RESULT_LOG_LINES = 1000


def login(runtime: Runtime, body: RoboteasyLogin, *, address: str, user_agent: str) -> IssuedToken:
    """Roboteasy knows one failed login (401): a blocked user or a password that is not
    base64 fails like a wrong password."""
    if not body.readable():  # names nobody; not even an audit row can hold it
        raise Unauthenticated("wrong login or password", reason="invalid_credentials")
    try:
        return auth.login(
            runtime,
            login_name=body.username,
            password=body.decoded_password(),
            ttl_seconds=runtime.settings.roboteasy_token_ttl_seconds,
            address=address,
            user_agent=user_agent,
        )
    except Forbidden as exc:
        raise Unauthenticated(exc.message, reason=exc.code) from None


def run(
    runtime: Runtime, caller: Caller, computer: str, robot: str, body: RoboteasyRun | None
) -> str:
    """Start process `robot` on robot `computer`; returns the execution (job) id."""
    caller.require(Screen.JOB, Action.CREATE)
    parameters = body.parameters() if body else {}
    with runtime.db.write(actor=caller.actor()) as session:
        data = JobCreate(process=robot, robot=computer, parameters=parameters, source="API")
        return insert_job(session, runtime, caller, data).guid


def result(runtime: Runtime, caller: Caller, computer: str, execution: str) -> RoboteasyResult:
    caller.require(Screen.JOB, Action.READ)
    with runtime.db.read() as session:
        job = _execution(session, caller, computer, execution)
        lines = session.scalars(
            select(LogRow)
            .where(LogRow.job_id == job.id)
            .order_by(LogRow.id)
            .limit(RESULT_LOG_LINES)
        ).all()
        return RoboteasyResult(
            id=job.guid,
            logs=[
                RoboteasyLog(
                    timestamp=int(line.created_at.timestamp() * 1000),
                    level=line.level,
                    message=line.message,
                )
                for line in lines
            ],
            init=int(job.created_at.timestamp() * 1000),
            end=int(job.completed_at.timestamp() * 1000) if job.completed_at else None,
            return_value=job.return_value,
            status=STATUS_NAMES[JobStatus(job.status)],
            progress=float(job.progress),
        )


def delete(runtime: Runtime, caller: Caller, computer: str, execution: str) -> None:
    """A queued execution leaves the queue (and Robofleet's lists); a running one is asked
    to stop and stays readable until it ends; an ended one disappears from this API only
    (Robofleet's own API keeps it in the job history). Deleting it again is a 404."""
    caller.require(Screen.JOB, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        job = _execution(session, caller, computer, execution, for_update=True)
        status = JobStatus(job.status)
        if status in FINAL:
            job.roboteasy_hidden = True
        elif status == JobStatus.CREATED or (
            status == JobStatus.PENDING and job.claimed_at is None
        ):
            change_job_status(
                session, job, JobStatus.STOPPED, message="deleted through the Roboteasy API"
            )
            job.is_deleted = True
        elif status not in (JobStatus.STOPPING, JobStatus.ABORTING):
            request_stop(session, job)


def _execution(
    session: Session, caller: Caller, computer: str, execution: str, *, for_update: bool = False
) -> JobRow:
    """The job `execution` run for robot `computer`; one the integration deleted after it
    ended is as unknown as one that never was."""
    robot = find_robot(session, caller, computer, field="ID_COMPUTER")
    job = find_job(session, caller, execution, field="ID_EXECUTION", for_update=for_update)
    if job.robot_id != robot.id or job.roboteasy_hidden:
        raise NotFound("job", execution)  # word for word what an unknown id answers
    return job
