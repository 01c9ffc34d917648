"""Roboteasy's integration API over jobs: a computer is a robot, a Roboteasy robot a process."""

from __future__ import annotations

from sqlalchemy import select

from robofleet.server.db.tables import LogRow
from robofleet.server.domain.errors import Conflict, NotFound
from robofleet.server.domain.jobs import JobStatus
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.jobs import JobCreate
from robofleet.server.schemas.roboteasy import RoboteasyLog, RoboteasyResult, RoboteasyRun
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.fleet.robots import find_robot
from robofleet.server.services.jobs.crud import find_job, insert_job
from robofleet.server.services.jobs.state import request_stop

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
        robot = find_robot(session, caller, computer, field="ID_COMPUTER")
        job = find_job(session, caller, execution, field="ID_EXECUTION")
        if job.robot_id != robot.id:
            raise NotFound("execution", execution)
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
    """Remove an execution that has not started yet from the queue."""
    caller.require(Screen.JOB, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        robot = find_robot(session, caller, computer, field="ID_COMPUTER")
        job = find_job(session, caller, execution, field="ID_EXECUTION", for_update=True)
        if job.robot_id != robot.id:
            raise NotFound("execution", execution)
        if job.status != JobStatus.PENDING or job.claimed_at is not None:
            raise Conflict(
                f"execution {job.guid} has already started; stop it with /api/job/stop",
                code="execution_started",
            )
        request_stop(session, job)
        job.is_deleted = True
