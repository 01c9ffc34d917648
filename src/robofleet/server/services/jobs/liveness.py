"""Time-driven job and robot rules, run by the scheduler leader.

- A robot silent for longer than the robot timeout becomes Disconnected, and every job it held
  becomes Unknown: we cannot know whether it still runs.
- A job Unknown for longer than the grace period becomes Failed.
- Jobs past their stop-after time are asked to stop, past abort-after to abort.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select

from robofleet.server.db import claims
from robofleet.server.db.system_actors import SCHEDULER
from robofleet.server.db.tables import JobRow, RobotRow
from robofleet.server.domain.jobs import JobStatus
from robofleet.server.domain.robots import RobotStatus
from robofleet.server.runtime import Runtime
from robofleet.server.services.fleet.robots import set_robot_status
from robofleet.server.services.jobs.state import (
    change_job_status,
    request_abort,
    request_stop,
)

BATCH = 500


def disconnect_silent_robots(runtime: Runtime, *, now: datetime, timeout_seconds: float) -> int:
    cutoff = now - timedelta(seconds=timeout_seconds)
    with runtime.db.write(actor=SCHEDULER) as session:
        robots = session.scalars(
            select(RobotRow)
            .where(
                RobotRow.status != int(RobotStatus.DISCONNECTED),
                RobotRow.is_deleted.is_(False),
                or_(RobotRow.last_heartbeat_at.is_(None), RobotRow.last_heartbeat_at < cutoff),
            )
            .limit(BATCH)
            .with_for_update()
        ).all()
        for robot in robots:
            set_robot_status(robot, RobotStatus.DISCONNECTED)
            held = [
                job
                for job in claims.jobs_held_by(session, robot.id)
                if job.status != JobStatus.UNKNOWN
            ]
            for job in held:
                change_job_status(
                    session,
                    job,
                    JobStatus.UNKNOWN,
                    now=now,
                    message=f"robot '{robot.name}' went silent",
                )
        return len(robots)


def fail_lost_jobs(runtime: Runtime, *, now: datetime, grace_seconds: float) -> int:
    cutoff = now - timedelta(seconds=grace_seconds)
    with runtime.db.write(actor=SCHEDULER) as session:
        jobs = session.scalars(
            select(JobRow)
            .where(
                JobRow.status == int(JobStatus.UNKNOWN),
                JobRow.status_changed_at < cutoff,
            )
            .limit(BATCH)
            .with_for_update()
        ).all()
        for job in jobs:
            change_job_status(
                session,
                job,
                JobStatus.FAILED,
                now=now,
                message=f"its robot did not come back within {grace_seconds:g}s",
            )
        return len(jobs)


def enforce_deadlines(runtime: Runtime, *, now: datetime) -> int:
    with runtime.db.write(actor=SCHEDULER) as session:
        to_stop = session.scalars(
            select(JobRow)
            .where(
                JobRow.stop_after.is_not(None),
                JobRow.stop_after <= now,
                JobRow.status.in_(
                    [int(JobStatus.PENDING), int(JobStatus.IN_PROGRESS), int(JobStatus.UNKNOWN)]
                ),
            )
            .limit(BATCH)
            .with_for_update()
        ).all()
        for job in to_stop:
            request_stop(session, job, now=now)
        to_abort = session.scalars(
            select(JobRow)
            .where(
                JobRow.abort_after.is_not(None),
                JobRow.abort_after <= now,
                JobRow.status.in_(
                    [
                        int(JobStatus.PENDING),
                        int(JobStatus.IN_PROGRESS),
                        int(JobStatus.STOPPING),
                        int(JobStatus.UNKNOWN),
                    ]
                ),
            )
            .limit(BATCH)
            .with_for_update()
        ).all()
        for job in to_abort:
            request_abort(session, job, now=now)
        return len(to_stop) + len(to_abort)
