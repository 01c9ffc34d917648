"""The one guarded function through which every job changes status, and its side effects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.job_statements import ROBOCORP_KIND as ROBOCORP_KIND
from robofleet.server.db.tables import JobRow, ProcessVersionRow, RobotRow
from robofleet.server.domain.jobs import FAILS_TASKS, FINAL, JobStatus, check_transition
from robofleet.server.domain.robots import RobotStatus
from robofleet.server.services.fleet.robots import set_robot_status
from robofleet.server.services.tasks.job_items import settle_job_items
from robofleet.server.services.tasks.state import fail_tasks_of_job


def change_job_status(
    session: Session,
    job: JobRow,
    status: JobStatus,
    *,
    message: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move `job` to `status` if the transition table allows it, keeping times consistent."""
    current = JobStatus(job.status)
    check_transition(current, status)
    now = now or utcnow()
    job.status = int(status)
    job.status_changed_at = now
    if status == JobStatus.IN_PROGRESS and job.started_at is None:
        job.started_at = now
    if status in FINAL:
        job.completed_at = now
        if status == JobStatus.SUCCESS:
            job.progress = 100
    if message is not None:
        job.last_message = message[:10_000]
    _follow_robot(session, job, status)
    if status in FINAL and is_robocorp(session, job):
        settle_job_items(session, job, status == JobStatus.SUCCESS, status.label)
    elif status in FAILS_TASKS:
        fail_tasks_of_job(session, job, status.label, now)


def is_robocorp(session: Session, job: JobRow) -> bool:
    """A job of a Robocorp robot (its version's Kind), which the /robocorp API serves."""
    version = session.get(ProcessVersionRow, job.process_version_id)
    return version is not None and version.kind == ROBOCORP_KIND


def _follow_robot(session: Session, job: JobRow, status: JobStatus) -> None:
    """A connected robot is Working while it runs a job and Ready when it ends."""
    if job.robot_id is None:
        return
    robot = session.get(RobotRow, job.robot_id)
    if robot is None or robot.status == RobotStatus.DISCONNECTED:
        return
    if status == JobStatus.IN_PROGRESS:
        set_robot_status(robot, RobotStatus.WORKING)
    elif status in FINAL and robot.status == RobotStatus.WORKING:
        set_robot_status(robot, RobotStatus.READY)


def request_stop(session: Session, job: JobRow, *, now: datetime | None = None) -> None:
    """Soft stop: a job no robot has taken ends at once; otherwise its robot is asked."""
    if job.status == JobStatus.PENDING and job.claimed_at is None:
        change_job_status(
            session, job, JobStatus.STOPPED, message="stopped before it started", now=now
        )
    else:
        change_job_status(session, job, JobStatus.STOPPING, now=now)


def request_abort(session: Session, job: JobRow, *, now: datetime | None = None) -> None:
    """Hard stop: a job no robot has taken ends at once; otherwise its robot kills it."""
    if job.status == JobStatus.PENDING and job.claimed_at is None:
        change_job_status(
            session, job, JobStatus.ABORTED, message="aborted before it started", now=now
        )
    else:
        change_job_status(session, job, JobStatus.ABORTING, now=now)
