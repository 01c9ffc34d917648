"""The job rules of a trigger: its limits, its concurrency cap and which robot gets the job.

Each rule either lets the fire go on or names, in words, why it is skipped; the words go into
the trigger's history (trigger_fires.detail)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from robofleet.contract import TriggerStatus
from robofleet.server.db.tables import JobRow, RobotGroupMemberRow, RobotRow, TriggerRow
from robofleet.server.domain.jobs import ACTIVE, JobStatus
from robofleet.server.domain.robots import RobotStatus

ONE_ROBOT = 1
ROBOT_GROUP = 2

LIVE_FOR_CAP = (int(JobStatus.IN_PROGRESS), int(JobStatus.PENDING), int(JobStatus.UNKNOWN))
"""The statuses max_running_robots counts (issue 11: In Progress, Pending and Unknown)."""

OCCUPYING = tuple(sorted({int(s) for s in ACTIVE} | {int(JobStatus.PENDING)}))
"""A robot holding or awaiting a job in these is busy: running, stopping, aborting, unknown,
or with a pending job taken by it or waiting for it alone."""


class Skip(Exception):
    """The fire is recorded as skipped, with this message as its detail."""


def month_of(trigger: TriggerRow, now: datetime) -> str:
    """The month (YYYY-MM) max_monthly_runs counts, in the trigger's time zone."""
    return now.astimezone(ZoneInfo(trigger.time_zone or "UTC")).strftime("%Y-%m")


def check_limits(trigger: TriggerRow, now: datetime) -> None:
    if trigger.max_runs > 0 and trigger.runs >= trigger.max_runs:
        raise Skip(f"max runs {trigger.max_runs} reached")
    if trigger.max_monthly_runs > 0:
        month = month_of(trigger, now)
        done = trigger.month_runs if trigger.month == month else 0
        if done >= trigger.max_monthly_runs:
            raise Skip(f"max monthly runs {trigger.max_monthly_runs} reached in {month}")


def count_run(trigger: TriggerRow, now: datetime) -> None:
    """A job was created: the counters grow, and a trigger at its max runs is completed."""
    month = month_of(trigger, now)
    trigger.month_runs = (trigger.month_runs if trigger.month == month else 0) + 1
    trigger.month = month
    trigger.runs += 1
    trigger.last_fire_at = now
    if trigger.max_runs > 0 and trigger.runs >= trigger.max_runs:
        # It has done what it was allowed to: Completed, with no next fire. Raising MaxRuns
        # and enabling it again (status 1) lets it go on.
        trigger.status = int(TriggerStatus.COMPLETED)
        trigger.next_fire_at = None


def live_jobs(session: Session, trigger_id: int) -> int:
    """The trigger's jobs In Progress, Pending or Unknown (max_running_robots counts these)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(JobRow)
            .where(
                JobRow.schedule_id == trigger_id,
                JobRow.status.in_(LIVE_FOR_CAP),
                JobRow.is_deleted.is_(False),
            )
        )
        or 0
    )


def check_cap(session: Session, trigger: TriggerRow) -> None:
    if trigger.max_running_robots <= 0:
        return
    live = live_jobs(session, trigger.id)
    if live >= trigger.max_running_robots:
        raise Skip(
            f"max running robots {trigger.max_running_robots} reached "
            f"({live} jobs pending or running)"
        )


@dataclass(frozen=True)
class Target:
    """Where the job goes: a robot, a group's first free robot, or any robot."""

    robot_id: int | None
    robot_group_id: int | None
    why: str


@cache
def _busy_statement() -> Select[Any]:
    holds = (
        select(JobRow.id)
        .where(
            JobRow.robot_id == RobotRow.id,
            JobRow.status.in_(OCCUPYING),
            JobRow.is_deleted.is_(False),
        )
        .exists()
    )
    # One EXISTS per robot: it stops at the first job found, however many wait for the robot.
    return select(RobotRow.id).where(RobotRow.id.in_(bindparam("p_robots", expanding=True)), holds)


@dataclass
class FireBatch:
    """What a batch of fires in one transaction knows beyond what it has written: the
    scheduler adds a batch's jobs without flushing them (one INSERT for all at the end), so
    the robots it gave jobs to are not yet busy in the database, and the busy robots it read
    stay true for the batch apart from those."""

    busy: dict[tuple[int, ...], set[int]] = field(default_factory=dict)
    claimed: Counter[int] = field(default_factory=Counter)
    """Robot id: pending jobs this batch added for it."""

    KEY: ClassVar[str] = "trigger_fire_batch"

    @classmethod
    def of(cls, session: Session) -> FireBatch | None:
        found: FireBatch | None = session.info.get(cls.KEY)
        return found

    def open(self, session: Session) -> None:
        session.info[self.KEY] = self

    def claim(self, robot_id: int | None) -> None:
        if robot_id is not None:
            self.claimed[robot_id] += 1


def _busy_robots(session: Session, robot_ids: list[int]) -> set[int]:
    """Of these robots, those running a job or with a pending job taken by or waiting for
    them (a free robot would take a pending job at its next call; it is already spoken for).
    A job made for one robot carries it in robot_id from the start, and a taken one too, so
    robot_id alone answers (on the index ix_jobs_robot_status)."""
    if not robot_ids:
        return set()
    batch = FireBatch.of(session)
    if batch is None:
        return set(session.scalars(_busy_statement(), {"p_robots": robot_ids}))
    key = tuple(robot_ids)
    if key not in batch.busy:
        batch.busy[key] = set(session.scalars(_busy_statement(), {"p_robots": robot_ids}))
    return batch.busy[key] | {r for r in robot_ids if batch.claimed[r]}


@cache
def _pending_statement() -> Select[int | None, int]:
    return (
        select(JobRow.robot_id, func.count())
        .where(
            JobRow.robot_id.in_(bindparam("p_robots", expanding=True)),
            JobRow.status == int(JobStatus.PENDING),
            JobRow.is_deleted.is_(False),
        )
        .group_by(JobRow.robot_id)
    )


def _pending_counts(session: Session, robot_ids: list[int]) -> dict[int, int]:
    rows = session.execute(_pending_statement(), {"p_robots": robot_ids})
    counts = Counter({robot: count for robot, count in rows if robot is not None})
    batch = FireBatch.of(session)
    if batch is not None:
        counts.update({r: batch.claimed[r] for r in robot_ids if batch.claimed[r]})
    return counts


@cache
def _members_statement() -> Select[Any]:
    return (
        select(RobotRow.id)
        .join(
            RobotGroupMemberRow,
            and_(
                RobotGroupMemberRow.robot_id == RobotRow.id,
                RobotGroupMemberRow.group_id == bindparam("p_group"),
            ),
        )
        .where(RobotRow.is_deleted.is_(False), RobotRow.is_active.is_(True))
        # A robot that calls in comes first: a disconnected one would leave the job waiting.
        .order_by(case((RobotRow.status == int(RobotStatus.DISCONNECTED), 1), else_=0), RobotRow.id)
    )


def _members(session: Session, group_id: int) -> list[int]:
    """The group's active robots, read once per transaction (the scheduler fires many
    triggers of one group in one)."""
    known: dict[int, list[int]] = session.info.setdefault("trigger_group_members", {})
    if group_id not in known:
        known[group_id] = list(session.scalars(_members_statement(), {"p_group": group_id}))
    return known[group_id]


def choose_target(session: Session, trigger: TriggerRow) -> Target:
    """The robot (or group) of the next job, after the trigger's busy-robot rule."""
    if trigger.robot_type == ROBOT_GROUP and trigger.robot_group_id is not None:
        robots = _members(session, trigger.robot_group_id)
        if not robots:
            raise Skip("the robot group has no active robots")
        group: int | None = trigger.robot_group_id
    elif trigger.robot_id is not None:
        robots, group = [trigger.robot_id], None
    else:
        return Target(None, None, "any robot")
    busy = _busy_robots(session, robots)
    free = [r for r in robots if r not in busy]
    if free:
        return Target(free[0], None, "a free robot")
    if trigger.when_busy == "any_free":
        if group is None:
            return Target(robots[0], None, "queued on the busy robot")
        return Target(None, group, "for the group's first free robot")
    if trigger.when_busy == "fewest_pending":
        pending = _pending_counts(session, robots)
        chosen = min(robots, key=lambda r: (pending.get(r, 0), r))
        return Target(
            chosen, None, f"queued on the busy robot with {pending.get(chosen, 0)} pending"
        )
    raise Skip("all robots busy" if len(robots) > 1 else "the robot is busy")
