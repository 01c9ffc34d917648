"""The overview's aggregates: robots by status, jobs by status today and per day for a week,
each queue's backlog and throughput, and the latest failures.

One read, a handful of GROUP BY counts (each on an index), whatever the fleet's size. A
section the caller has no read right on is None (the page leaves it out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from robofleet.contract import JobStatus, TaskStatus
from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import JobRow, ProcessRow, QueueRow, TaskRow
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import scoped
from robofleet.server.services.access.robot_scope import own_jobs
from robofleet.server.services.fleet.robots import robot_status_counts

DAYS = 7
FAILURES = 10
FAILED_TASKS = (int(TaskStatus.FAILED_APPLICATION), int(TaskStatus.FAILED_BUSINESS))


@dataclass(frozen=True)
class QueueLoad:
    guid: str
    name: str
    new: int
    in_progress: int
    done_24h: int
    """Tasks that ended in Success in the last 24 hours."""


@dataclass(frozen=True)
class Failure:
    kind: str
    """"job" or "task"."""
    guid: str
    """The job's GUID, or the task's."""
    name: str
    """The job's process, or the task's name."""
    where_guid: str
    """Where the failure is shown: the job itself, or the task's queue."""
    where_name: str
    """The process (job) or queue (task) name."""
    status: str
    at: datetime | None
    message: str


@dataclass(frozen=True)
class Overview:
    now: datetime
    robots: dict[str, int] | None
    """Robots per status label, every status present."""
    jobs_today: dict[str, int] | None
    """Jobs created today (UTC) per status label, the statuses with any."""
    days: list[str]
    """The last DAYS days (UTC), oldest first, as YYYY-MM-DD."""
    jobs_by_day: dict[str, list[int]] | None
    """Per status label (those with any job in the week), the jobs created each day."""
    queues: list[QueueLoad] | None
    failed_jobs: list[Failure] | None
    failed_tasks: list[Failure] | None


def fleet_overview(runtime: Runtime, caller: Caller, now: datetime | None = None) -> Overview:
    """Everything the overview shows, for what the caller may read."""
    moment = now or utcnow()
    today = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    days = [start.strftime("%Y-%m-%d") for start in starts]
    allows = caller.principal.permissions.allows
    with runtime.db.read() as session:
        robots = robot_status_counts(session, caller) if allows(Screen.ROBOT, Action.READ) else None
        jobs_by_day: dict[str, list[int]] | None = None
        jobs_today: dict[str, int] | None = None
        failed_jobs: list[Failure] | None = None
        if allows(Screen.JOB, Action.READ):
            conditions = _job_conditions(caller)
            jobs_by_day = _jobs_by_day(session, conditions, starts, moment)
            jobs_today = {s: counts[-1] for s, counts in jobs_by_day.items() if counts[-1]}
            failed_jobs = _failed_jobs(session, conditions)
        queues: list[QueueLoad] | None = None
        failed_tasks: list[Failure] | None = None
        if allows(Screen.QUEUE, Action.READ):
            live = session.execute(
                scoped(QueueRow, caller)
                .with_only_columns(QueueRow.id, QueueRow.guid, QueueRow.name)
                .order_by(QueueRow.name)
            ).all()
            named = {queue_id: (guid, name) for queue_id, guid, name in live}
            queues = _queue_loads(session, named, moment)
            failed_tasks = _failed_tasks(session, named)
    return Overview(
        now=moment,
        robots=robots,
        jobs_today=jobs_today,
        days=days,
        jobs_by_day=jobs_by_day,
        queues=queues,
        failed_jobs=failed_jobs,
        failed_tasks=failed_tasks,
    )


def _job_conditions(caller: Caller) -> list[ColumnElement[bool]]:
    """The jobs the caller sees, as crud.list_jobs decides."""
    conditions: list[ColumnElement[bool]] = [
        JobRow.account_id == caller.account_id,
        JobRow.is_deleted.is_(False),
    ]
    if caller.robot_id is not None:
        conditions.append(own_jobs(caller.robot_id))
    if caller.principal.folder_ids is not None:
        visible = scoped(ProcessRow, caller).with_only_columns(ProcessRow.id)
        conditions.append(JobRow.process_id.in_(visible.scalar_subquery()))
    return conditions


def _jobs_by_day(
    session: Session,
    conditions: list[ColumnElement[bool]],
    starts: list[datetime],
    now: datetime,
) -> dict[str, list[int]]:
    # One count per day (ix_jobs_account_created), grouped by status: the same statement on
    # both stores, with no date arithmetic in SQL.
    ends = [*starts[1:], now + timedelta(seconds=1)]
    per_status: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        rows = session.execute(
            select(JobRow.status, func.count())
            .where(*conditions, JobRow.created_at >= start, JobRow.created_at < end)
            .group_by(JobRow.status)
        )
        for status, count in rows:
            per_status.setdefault(status, [0] * len(starts))[index] = count
    return {JobStatus(status).label: per_status[status] for status in sorted(per_status)}


def _failed_jobs(session: Session, conditions: list[ColumnElement[bool]]) -> list[Failure]:
    rows = session.execute(
        select(
            JobRow.guid,
            ProcessRow.name,
            JobRow.status_changed_at,
            JobRow.created_at,
            JobRow.last_message,
        )
        .join(ProcessRow, ProcessRow.id == JobRow.process_id)
        .where(*conditions, JobRow.status == int(JobStatus.FAILED))
        .order_by(JobRow.status_changed_at.desc(), JobRow.id.desc())
        .limit(FAILURES)
    )
    return [
        Failure(
            kind="job",
            guid=guid,
            name=process,
            where_guid=guid,
            where_name=process,
            status=JobStatus.FAILED.label,
            at=changed or created,
            message=message or "",
        )
        for guid, process, changed, created, message in rows
    ]


def _queue_loads(
    session: Session, named: dict[int, tuple[str, str]], now: datetime
) -> list[QueueLoad]:
    if not named:
        return []
    ids = list(named)
    backlog: dict[tuple[int, int], int] = {}
    rows = session.execute(
        select(TaskRow.queue_id, TaskRow.status, func.count())
        .where(
            TaskRow.queue_id.in_(ids),
            TaskRow.status.in_((int(TaskStatus.NEW), int(TaskStatus.IN_PROGRESS))),
            TaskRow.is_deleted.is_(False),
        )
        .group_by(TaskRow.queue_id, TaskRow.status)
    )
    for queue_id, status, count in rows:
        backlog[(queue_id, status)] = count
    done = dict(
        session.execute(
            select(TaskRow.queue_id, func.count())
            .where(
                TaskRow.queue_id.in_(ids),
                TaskRow.status == int(TaskStatus.SUCCESS),
                TaskRow.is_deleted.is_(False),
                TaskRow.finished_at >= now - timedelta(hours=24),
            )
            .group_by(TaskRow.queue_id)
        ).all()
    )
    return [
        QueueLoad(
            guid=guid,
            name=name,
            new=backlog.get((queue_id, int(TaskStatus.NEW)), 0),
            in_progress=backlog.get((queue_id, int(TaskStatus.IN_PROGRESS)), 0),
            done_24h=done.get(queue_id, 0),
        )
        for queue_id, (guid, name) in named.items()
    ]


def _failed_tasks(session: Session, named: dict[int, tuple[str, str]]) -> list[Failure]:
    if not named:
        return []
    rows = session.execute(
        select(
            TaskRow.guid,
            TaskRow.name,
            TaskRow.queue_id,
            TaskRow.status,
            TaskRow.status_changed_at,
            TaskRow.error_message,
        )
        .where(
            TaskRow.queue_id.in_(list(named)),
            TaskRow.status.in_(FAILED_TASKS),
            TaskRow.is_deleted.is_(False),
        )
        .order_by(TaskRow.status_changed_at.desc(), TaskRow.id.desc())
        .limit(FAILURES)
    )
    return [
        Failure(
            kind="task",
            guid=guid,
            name=name,
            where_guid=named[queue_id][0],
            where_name=named[queue_id][1],
            status=TaskStatus(status).label,
            at=changed,
            message=message or "",
        )
        for guid, name, queue_id, status, changed, message in rows
    ]
