"""Atomic claims of jobs, and the robot-protocol lookups that run on every heartbeat.

PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's rows instead of
waiting. SQLite: the claim runs in a write transaction opened with BEGIN IMMEDIATE, which
already excludes every other writer, so a plain SELECT then UPDATE is atomic. The dialect
object (`db.dialect`) decides which.

The statements are built once per dialect with bound parameters (`p_` prefixed): a heartbeat
pays neither statement construction nor cache-key work.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, false, or_, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import literal_int
from robofleet.server.db.dialect import Dialect, dialect_of
from robofleet.server.db.tables import JobRow, RobotGroupMemberRow, RobotRow
from robofleet.server.domain.jobs import ACTIVE, JobStatus


@cache
def eligible_pending() -> Any:
    """Pending, untaken jobs the robot `p_robot` may take: its own, its groups', anyone's.

    The first four terms are ix_jobs_pick's WHERE (db.tables.processes), written the same way
    (the status a literal, `is_deleted = false`): change them together, or SQLite stops using
    the index."""
    groups = select(RobotGroupMemberRow.group_id).where(
        RobotGroupMemberRow.robot_id == bindparam("p_robot")
    )
    return and_(
        JobRow.account_id == bindparam("p_account"),
        JobRow.status == literal_int(JobStatus.PENDING),
        JobRow.claimed_at.is_(None),
        JobRow.is_deleted == false(),
        or_(
            JobRow.requested_robot_id == bindparam("p_robot"),
            and_(
                JobRow.requested_robot_id.is_(None),
                or_(JobRow.robot_group_id.is_(None), JobRow.robot_group_id.in_(groups)),
            ),
        ),
    )


@cache
def _next_job(dialect: Dialect) -> Select[JobRow]:
    """In ix_jobs_pick's order, so the pick stops at the first row the robot may take."""
    query = (
        select(JobRow)
        .where(eligible_pending())
        .order_by(JobRow.priority.desc(), JobRow.id)
        # Written into the SQL: a bound LIMIT is unknown to a generic plan, which may then
        # plan for every pending job of the account instead of the first.
        .limit(literal_int(1))
    )
    return dialect.for_claim(query)


@cache
def first_pending_job() -> Select[int]:
    """The id of the job the pick would take, for asking whether one waits. In the pick's
    order: without it SQLite answered from ix_jobs_account_id, walking every job the account
    ever had (an EXISTS drops an ORDER BY, so ask for this row instead)."""
    return (
        select(JobRow.id)
        .where(eligible_pending())
        .order_by(JobRow.priority.desc(), JobRow.id)
        .limit(literal_int(1))
    )


def next_job_for_robot(session: Session, *, account_id: int, robot_id: int) -> JobRow | None:
    """The pending job this robot should take: highest priority first, then oldest. The row
    is locked for the caller's transaction."""
    return session.scalar(
        _next_job(dialect_of(session)), {"p_account": account_id, "p_robot": robot_id}
    )


def has_job_for_robot(session: Session, *, account_id: int, robot_id: int) -> bool:
    values = {"p_account": account_id, "p_robot": robot_id}
    return session.scalar(first_pending_job(), values) is not None


@cache
def held_by_robot() -> Any:
    """Jobs the robot `p_robot` has taken and not ended."""
    return and_(
        JobRow.robot_id == bindparam("p_robot"),
        or_(
            JobRow.status.in_([int(s) for s in ACTIVE]),
            and_(JobRow.status == int(JobStatus.PENDING), JobRow.claimed_at.is_not(None)),
        ),
    )


@cache
def _held_jobs() -> Select[JobRow]:
    return select(JobRow).where(held_by_robot()).with_for_update()


def jobs_held_by(session: Session, robot_id: int) -> list[JobRow]:
    """Jobs the robot has taken and not ended (running, stopping, unknown, or not started)."""
    return list(session.scalars(_held_jobs(), {"p_robot": robot_id}))


@cache
def _robot_by_id() -> Select[RobotRow]:
    return (
        select(RobotRow)
        .where(RobotRow.id == bindparam("p_id"), RobotRow.is_deleted == false())
        .with_for_update()
    )


@cache
def _robot_by_guid() -> Select[RobotRow]:
    return (
        select(RobotRow)
        .where(
            RobotRow.guid == bindparam("p_guid"),
            RobotRow.account_id == bindparam("p_account"),
            RobotRow.is_deleted == false(),
        )
        .with_for_update()
    )


def robot_by_id(session: Session, robot_id: int) -> RobotRow | None:
    return session.scalar(_robot_by_id(), {"p_id": robot_id})


def robot_by_guid(session: Session, account_id: int, guid: str) -> RobotRow | None:
    return session.scalar(_robot_by_guid(), {"p_guid": guid, "p_account": account_id})
