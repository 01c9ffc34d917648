"""Time-driven job and robot rules, run by the scheduler leader.

- A robot silent for longer than the robot timeout becomes Disconnected, and every job it held
  becomes Unknown: we cannot know whether it still runs.
- A job Unknown for longer than the grace period becomes Failed.
- Jobs past their stop-after time are asked to stop, past abort-after to abort.

Each rule is two public functions: one lists the accounts with work due (services.scheduled),
the other runs for one account in its own transaction, so a bad row fails its account alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select

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
from robofleet.server.services.scheduled import Owner, account_owners

BATCH = 500


def _silent(now: datetime, timeout_seconds: float) -> list[ColumnElement[bool]]:
    cutoff = now - timedelta(seconds=timeout_seconds)
    return [
        RobotRow.status != int(RobotStatus.DISCONNECTED),
        RobotRow.is_deleted.is_(False),
        or_(RobotRow.last_heartbeat_at.is_(None), RobotRow.last_heartbeat_at < cutoff),
    ]


def accounts_with_silent_robots(
    runtime: Runtime, *, now: datetime, timeout_seconds: float
) -> list[Owner]:
    with runtime.db.read() as session:
        query = select(RobotRow.account_id).where(*_silent(now, timeout_seconds)).distinct()
        return account_owners(session, session.scalars(query))


def disconnect_silent_robots(
    runtime: Runtime, *, now: datetime, timeout_seconds: float, account_id: int
) -> int:
    with runtime.db.write(actor=SCHEDULER) as session:
        robots = session.scalars(
            select(RobotRow)
            .where(*_silent(now, timeout_seconds), RobotRow.account_id == account_id)
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


def _lost(now: datetime, grace_seconds: float) -> list[ColumnElement[bool]]:
    cutoff = now - timedelta(seconds=grace_seconds)
    return [JobRow.status == int(JobStatus.UNKNOWN), JobRow.status_changed_at < cutoff]


def accounts_with_lost_jobs(
    runtime: Runtime, *, now: datetime, grace_seconds: float
) -> list[Owner]:
    with runtime.db.read() as session:
        query = select(JobRow.account_id).where(*_lost(now, grace_seconds)).distinct()
        return account_owners(session, session.scalars(query))


def fail_lost_jobs(
    runtime: Runtime, *, now: datetime, grace_seconds: float, account_id: int
) -> int:
    with runtime.db.write(actor=SCHEDULER) as session:
        jobs = session.scalars(
            select(JobRow)
            .where(*_lost(now, grace_seconds), JobRow.account_id == account_id)
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


def _to_stop(now: datetime) -> list[ColumnElement[bool]]:
    return [
        JobRow.stop_after.is_not(None),
        JobRow.stop_after <= now,
        JobRow.status.in_(
            [int(JobStatus.PENDING), int(JobStatus.IN_PROGRESS), int(JobStatus.UNKNOWN)]
        ),
    ]


def _to_abort(now: datetime) -> list[ColumnElement[bool]]:
    return [
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
    ]


def accounts_with_deadlines_due(runtime: Runtime, *, now: datetime) -> list[Owner]:
    with runtime.db.read() as session:
        stop = select(JobRow.account_id).where(*_to_stop(now))
        abort = select(JobRow.account_id).where(*_to_abort(now))
        return account_owners(session, [*session.scalars(stop), *session.scalars(abort)])


def enforce_deadlines(runtime: Runtime, *, now: datetime, account_id: int) -> int:
    with runtime.db.write(actor=SCHEDULER) as session:
        to_stop = session.scalars(
            select(JobRow)
            .where(*_to_stop(now), JobRow.account_id == account_id)
            .limit(BATCH)
            .with_for_update()
        ).all()
        for job in to_stop:
            request_stop(session, job, now=now)
        to_abort = session.scalars(
            select(JobRow)
            .where(*_to_abort(now), JobRow.account_id == account_id)
            .limit(BATCH)
            .with_for_update()
        ).all()
        for job in to_abort:
            request_abort(session, job, now=now)
        return len(to_stop) + len(to_abort)
