"""Every statement on tasks and their history, named and documented in one place (as
procrastinate keeps its queries): services.tasks call these and build no task SQL of their own.

The hot ones are built once per dialect with bound parameters, so a request pays neither
statement construction nor cache-key work. Take: one UPDATE of the first `count` New tasks of a
queue in take order (rank, deadline, age), picked with SKIP LOCKED on PostgreSQL (on SQLite the
BEGIN IMMEDIATE transaction already excludes other writers), RETURNING the rows. Finish: one
UPDATE conditional on the live lease, RETURNING the row or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any, NamedTuple, TypedDict, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    func,
    insert,
    not_,
    select,
    update,
)
from sqlalchemy.orm import Session

from robofleet.contract import TaskStatus
from robofleet.server.db.base import literal_int
from robofleet.server.db.dialect import Dialect
from robofleet.server.db.tables import JobRow, QueueRow, TaskEventRow, TaskRow
from robofleet.server.db.tables.queues import NO_DEADLINE
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.domain.refs import RefKind

EVENTS = cast(Table, TaskEventRow.__table__)
NEW, IN_PROGRESS = int(TaskStatus.NEW), int(TaskStatus.IN_PROGRESS)
LEASE_COLUMNS = ("lease_id", "lease_owner", "lease_robot_id", "lease_seconds", "lease_expires_at")
TAKE_ORDER = ("rank", "deadline_key", "id")
"""Take order: best rank (priority, overdue first), nearest deadline, oldest. The take index
(ix_tasks_take) has these columns, and rows a statement returns are sorted by the same key."""


class TaskRecord(NamedTuple):
    """A task as a statement returns it (RETURNING): the columns of `tasks`, typed."""

    id: int
    guid: str
    account_id: int
    queue_id: int
    name: str
    unique_name: str | None
    description: str
    comment: str
    parameters: dict[str, Any]
    output: Any
    error_type: str
    error_message: str
    error_details: str
    priority: int
    rank: int
    tags: str
    status: int
    postponed_until: datetime | None
    deadline: datetime | None
    deadline_key: datetime
    job_id: int | None
    retries: int
    parent_task_id: int | None
    lease_id: str | None
    lease_owner: str | None
    lease_robot_id: int | None
    lease_seconds: int | None
    lease_expires_at: datetime | None
    finish_lease_id: str | None
    idempotency_key: str | None
    request_digest: str | None
    started_at: datetime | None
    finished_at: datetime | None
    status_changed_at: datetime
    is_deleted: bool
    created_at: datetime
    updated_at: datetime


assert set(TaskRecord._fields) == set(TASKS.c.keys()), "TaskRecord must name every task column"
RETURNED = tuple(TASKS.c[name] for name in TaskRecord._fields)

TaskLike = TaskRow | TaskRecord
"""A loaded task row or a returned record: both carry every task column."""


class NewTask(TypedDict):
    """The values of one task being added (insert_tasks)."""

    guid: str
    account_id: int
    queue_id: int
    name: str
    unique_name: str | None
    description: str
    comment: str
    parameters: dict[str, Any]
    priority: int
    rank: int
    tags: str
    status: int
    postponed_until: datetime | None
    deadline: datetime | None
    deadline_key: datetime
    retries: int
    idempotency_key: str | None
    request_digest: str | None
    status_changed_at: datetime
    created_at: datetime
    updated_at: datetime
    is_deleted: bool


class TaskEventValues(TypedDict):
    """One history entry (insert_events)."""

    account_id: int
    task_id: int
    from_status: int | None
    to_status: int
    actor: str
    reason: str
    at: datetime


class TaskIds(NamedTuple):
    id: int
    guid: str
    queue_id: int


take_order_key: Callable[[TaskLike], tuple[Any, ...]] = attrgetter(*TAKE_ORDER)
"""The take order as a sort key of loaded or returned tasks."""


def take_order(query: Select[Any]) -> Select[Any]:
    return query.order_by(*(TASKS.c[name] for name in TAKE_ORDER))


def pick_new(conditions: list[Any], dialect: Dialect) -> Select[Any]:
    picked = take_order(
        select(TASKS.c.id).where(
            *conditions, TASKS.c.status == literal_int(NEW), TASKS.c.is_deleted.is_(False)
        )
    )
    picked = picked.limit(bindparam("p_count"))
    return dialect.for_claim(picked)


def take_statement(picked: Select[Any]) -> Update:
    return (
        update(TASKS)
        .where(TASKS.c.id.in_(picked.scalar_subquery()))
        .values(
            status=IN_PROGRESS,
            started_at=bindparam("p_now"),
            status_changed_at=bindparam("p_now"),
            updated_at=bindparam("p_now"),
            job_id=func.coalesce(bindparam("p_job_id"), TASKS.c.job_id),
            **{column: bindparam(f"p_{column}") for column in LEASE_COLUMNS},
        )
        .returning(*RETURNED)
    )


def take_filtered(queue_id: int, conditions: list[ColumnElement[bool]], dialect: Dialect) -> Update:
    """The take narrowed by filter_conditions (or only_task); built per call, as the filters
    vary. Parameters as take_from_queue's."""
    return take_statement(pick_new([TASKS.c.queue_id == queue_id, *conditions], dialect))


@cache
def take_from_queue(dialect: Dialect) -> Update:
    """The unfiltered take. Parameters (each with a `p_` prefix): queue_id, count, now,
    job_id and the lease columns."""
    return take_statement(pick_new([TASKS.c.queue_id == bindparam("p_queue_id")], dialect))


@cache
def finish_statement(*, set_output: bool, set_error: bool, finished: bool) -> Update:
    """Parameters (each with a `p_` prefix): guids (a list), account_id, status, now,
    lease_id, postponed_until, and the optional output and error_*."""
    values: dict[str, Any] = {
        "status": bindparam("p_status"),
        "status_changed_at": bindparam("p_now"),
        "updated_at": bindparam("p_now"),
        "postponed_until": bindparam("p_postponed_until"),
        **dict.fromkeys(LEASE_COLUMNS),
        "finish_lease_id": bindparam("p_lease_id"),
    }
    if finished:
        values["finished_at"] = bindparam("p_now")
    if set_output:
        values["output"] = bindparam("p_output", type_=TASKS.c.output.type)
    if set_error:
        values.update(
            error_type=bindparam("p_error_type"),
            error_message=bindparam("p_error_message"),
            error_details=bindparam("p_error_details"),
        )
    return (
        update(TASKS)
        .where(
            TASKS.c.guid.in_(bindparam("p_guids", expanding=True)),
            TASKS.c.account_id == bindparam("p_account_id"),
            TASKS.c.is_deleted.is_(False),
            TASKS.c.status == IN_PROGRESS,
            TASKS.c.lease_id == bindparam("p_lease_id"),
            TASKS.c.lease_expires_at > bindparam("p_now"),
        )
        .values(**values)
        .returning(*RETURNED)
    )


@cache
def insert_events() -> Insert:
    return insert(EVENTS)


def take(session: Session, statement: Update, params: dict[str, Any]) -> list[TaskRecord]:
    """Run a take statement (take_from_queue or take_filtered); the rows in take order."""
    rows = [TaskRecord._make(row) for row in session.execute(statement, params)]
    rows.sort(key=take_order_key)
    return rows


def finish(session: Session, statement: Update, params: dict[str, Any]) -> list[TaskRecord]:
    """Run a finish_statement; the tasks it changed."""
    return [TaskRecord._make(row) for row in session.execute(statement, params)]


def record_events(session: Session, events: Sequence[TaskEventValues]) -> None:
    """Append entries to the tasks' histories."""
    if events:
        session.execute(insert_events(), list(events))


# Adding tasks


def insert_tasks(session: Session, tasks: Sequence[NewTask]) -> dict[str, int]:
    """Insert tasks in one statement; their ids by GUID."""
    session.execute(insert(TaskRow), list(tasks))
    created = session.execute(
        select(TaskRow.guid, TaskRow.id).where(TaskRow.guid.in_([t["guid"] for t in tasks]))
    )
    return {guid: task_id for guid, task_id in created}


def taken_names(session: Session, queue_id: int, names: list[str]) -> set[str]:
    """Which of `names` tasks of the queue already carry (any status, deleted too)."""
    taken: set[str] = set()
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        taken.update(
            session.scalars(
                select(TaskRow.name).where(TaskRow.queue_id == queue_id, TaskRow.name.in_(chunk))
            )
        )
    return taken


def tasks_by_idempotency_key(
    session: Session, account_id: int, keys: list[str]
) -> dict[str, TaskRow]:
    """The account's tasks (deleted too) added with one of `keys`, by key."""
    found: dict[str, TaskRow] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for task in session.scalars(
            select(TaskRow).where(
                TaskRow.account_id == account_id, TaskRow.idempotency_key.in_(chunk)
            )
        ):
            found[str(task.idempotency_key)] = task
    return found


def tasks_by_guid(session: Session, guids: list[str]) -> dict[str, TaskRow]:
    """The tasks (of any account, deleted too) that carry one of `guids`, by GUID: a GUID
    is unique across accounts."""
    found: dict[str, TaskRow] = {}
    for start in range(0, len(guids), 500):
        chunk = guids[start : start + 500]
        found.update(
            (t.guid, t) for t in session.scalars(select(TaskRow).where(TaskRow.guid.in_(chunk)))
        )
    return found


def name_taken_by_other(session: Session, queue_id: int, name: str, task_id: int) -> bool:
    """Whether another task of the queue carries `name`."""
    return bool(
        session.scalar(
            select(TaskRow.id).where(
                TaskRow.queue_id == queue_id, TaskRow.name == name, TaskRow.id != task_id
            )
        )
    )


# Finding tasks

_REF_COLUMNS = {"id": TaskRow.id, "guid": TaskRow.guid, "name": TaskRow.name}


def find_task(
    session: Session, account_id: int, kind: RefKind, value: int | str, *, for_update: bool
) -> TaskRow | None:
    """A live task of the account by id, GUID or name (the newest of that name)."""
    query = (
        select(TaskRow)
        .where(
            _REF_COLUMNS[kind] == value,
            TaskRow.account_id == account_id,
            TaskRow.is_deleted.is_(False),
        )
        .order_by(TaskRow.id.desc())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def task_ids(session: Session, account_id: int, kind: RefKind, value: int | str) -> TaskIds | None:
    """Id, GUID and queue of a live task of the account, by id or GUID."""
    found = session.execute(
        select(TaskRow.id, TaskRow.guid, TaskRow.queue_id).where(
            _REF_COLUMNS[kind] == value,
            TaskRow.account_id == account_id,
            TaskRow.is_deleted.is_(False),
        )
    ).first()
    return None if found is None else TaskIds(found.id, found.guid, found.queue_id)


def like_pattern(wildcards: str) -> str:
    """`*` and `?` wildcards as a LIKE pattern (escape `\\`)."""
    escaped = wildcards.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def tag_conditions(spec: str) -> list[ColumnElement[bool]]:
    """`+a;-b`: has tag a, has not tag b (tags are stored `;a;b;`)."""
    conditions: list[ColumnElement[bool]] = []
    for raw in spec.split(";"):
        part = raw.strip()
        if not part:
            continue
        exclude = part.startswith("-")
        tag = part.lstrip("+-").strip()
        if not tag:
            continue
        has = TaskRow.tags.like(f"%;{like_pattern(tag)};%", escape="\\")
        conditions.append(not_(has) if exclude else has)
    return conditions


def filter_conditions(
    queue_id: int,
    *,
    tags: str | None = None,
    name: str | None = None,
    priority: list[int] | None = None,
    created_after: datetime | None = None,
    status: list[int] | None = None,
) -> list[ColumnElement[bool]]:
    """The task filters (docs/queues.md) of take, filter/read, filter/list and lastTask."""
    conditions: list[ColumnElement[bool]] = [
        TaskRow.queue_id == queue_id,
        TaskRow.is_deleted.is_(False),
    ]
    if status:
        conditions.append(TaskRow.status.in_(status))
    if priority:
        conditions.append(TaskRow.priority.in_(priority))
    if tags:
        conditions.extend(tag_conditions(tags))
    if name:
        conditions.append(TaskRow.name.like(like_pattern(name), escape="\\"))
    if created_after:
        conditions.append(TaskRow.created_at > created_after)
    return conditions


def only_task(task_id: int) -> list[ColumnElement[bool]]:
    """Narrows a take to one task."""
    return [TaskRow.id == task_id]


def newest_tasks(
    session: Session, conditions: list[ColumnElement[bool]], *, offset: int, count: int
) -> Sequence[TaskRow]:
    """Tasks matching, newest first, one page."""
    return session.scalars(
        select(TaskRow).where(*conditions).order_by(TaskRow.id.desc()).offset(offset).limit(count)
    ).all()


def oldest_tasks_in(
    session: Session, conditions: list[ColumnElement[bool]], statuses: list[int], *, count: int
) -> list[TaskRow]:
    """The first `count` tasks matching in one of `statuses`, oldest first."""
    return list(
        session.scalars(
            select(TaskRow)
            .where(*conditions, TaskRow.status.in_(statuses))
            .order_by(TaskRow.id)
            .limit(count)
        )
    )


def next_new_tasks(
    session: Session, conditions: list[ColumnElement[bool]], *, count: int
) -> list[TaskRow]:
    """New tasks matching, in take order, not taken."""
    query = select(TaskRow).where(*conditions, TaskRow.status == literal_int(TaskStatus.NEW))
    return list(session.scalars(take_order(query).limit(count)))


def history(session: Session, task_id: int) -> Sequence[TaskEventRow]:
    """A task's status changes, oldest first."""
    return session.scalars(
        select(TaskEventRow).where(TaskEventRow.task_id == task_id).order_by(TaskEventRow.id)
    ).all()


def guids_by_id(
    session: Session, model: type[JobRow | QueueRow | TaskRow], ids: set[int]
) -> dict[int, str]:
    """GUIDs of the jobs, queues or tasks a task links to, by id."""
    if not ids:
        return {}
    rows = session.execute(select(model.id, model.guid).where(model.id.in_(sorted(ids))))
    return {row_id: guid for row_id, guid in rows}


# Leases


def live_leased_task(
    session: Session, task_id: int, lease_id: str, now: datetime
) -> TaskRow | None:
    """The task, locked, if `lease_id` is its live lease."""
    return session.scalar(
        select(TaskRow)
        .where(
            TaskRow.id == task_id,
            TaskRow.status == int(TaskStatus.IN_PROGRESS),
            TaskRow.lease_id == lease_id,
            TaskRow.lease_expires_at > now,
        )
        .with_for_update()
    )


@cache
def _leases_of_robot() -> Select[int, int | None, int | None]:
    return select(TaskRow.id, TaskRow.lease_seconds, TaskRow.job_id).where(
        TaskRow.lease_robot_id == bindparam("p_robot"),
        TaskRow.status == int(TaskStatus.IN_PROGRESS),
    )


def leases_of_robot(session: Session, robot_id: int) -> list[tuple[int, int | None, int | None]]:
    """(task id, lease seconds, job id) of each task the robot holds: run on every heartbeat."""
    return [tuple(row) for row in session.execute(_leases_of_robot(), {"p_robot": robot_id})]  # type: ignore[misc]


def extend_lease(session: Session, task_id: int, expires_at: datetime) -> None:
    session.execute(update(TASKS).where(TASKS.c.id == task_id).values(lease_expires_at=expires_at))


# Time-driven moves (scheduler)


def _overdue_new() -> list[ColumnElement[bool]]:
    return [
        TASKS.c.status == literal_int(TaskStatus.NEW),
        TASKS.c.rank >= 1,
        TASKS.c.deadline_key < NO_DEADLINE,
    ]


def accounts_with_overdue_new(session: Session, now: datetime) -> list[int]:
    """Accounts that have New tasks whose deadline has passed and are not yet promoted."""
    query = select(TASKS.c.account_id).where(*_overdue_new(), TASKS.c.deadline_key <= now)
    return list(session.scalars(query.distinct()))


def promote_overdue(session: Session, now: datetime, shift: int, account_id: int) -> int:
    """New tasks of the account whose deadline has passed: rank lowered by `shift`; how
    many."""
    result = session.execute(
        update(TASKS)
        .where(*_overdue_new(), TASKS.c.deadline_key <= now, TASKS.c.account_id == account_id)
        .values(rank=TASKS.c.rank - shift)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _postponed_due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        TaskRow.status == int(TaskStatus.POSTPONED),
        TaskRow.postponed_until <= now,
        TaskRow.is_deleted.is_(False),
    ]


def _locked_with_queues(
    session: Session, conditions: list[ColumnElement[bool]], limit: int | None = None
) -> list[tuple[TaskRow, QueueRow]]:
    """The tasks matching `conditions`, locked (the scheduler's timers change them), each
    with its queue."""
    query = (
        select(TaskRow, QueueRow)
        .join(QueueRow, QueueRow.id == TaskRow.queue_id)
        .where(*conditions)
        .with_for_update(of=TaskRow)
    )
    if limit is not None:
        query = query.limit(limit)
    return [(task, queue) for task, queue in session.execute(query)]


def accounts_with_postponed_due(session: Session, now: datetime) -> list[int]:
    """Accounts that have Postponed tasks whose time has come."""
    return list(session.scalars(select(TaskRow.account_id).where(*_postponed_due(now)).distinct()))


def postponed_due(
    session: Session, now: datetime, limit: int, account_id: int
) -> list[tuple[TaskRow, QueueRow]]:
    """Postponed tasks of the account whose time has come, locked, with their queues."""
    conditions = [*_postponed_due(now), TaskRow.account_id == account_id]
    return _locked_with_queues(session, conditions, limit)


def _lease_expired(now: datetime) -> list[ColumnElement[bool]]:
    return [TaskRow.status == int(TaskStatus.IN_PROGRESS), TaskRow.lease_expires_at < now]


def accounts_with_expired_leases(session: Session, now: datetime) -> list[int]:
    """Accounts that have In Progress tasks whose lease has expired."""
    return list(session.scalars(select(TaskRow.account_id).where(*_lease_expired(now)).distinct()))


def leases_expired(
    session: Session, now: datetime, limit: int, account_id: int
) -> list[tuple[TaskRow, QueueRow]]:
    """In Progress tasks of the account whose lease has expired, locked, with their queues."""
    conditions = [*_lease_expired(now), TaskRow.account_id == account_id]
    return _locked_with_queues(session, conditions, limit)


def queues_with_abandon_limits(session: Session) -> list[tuple[int, str, int]]:
    """(id, GUID, account id) of live queues that abandon New or In Progress tasks after some
    minutes and hold tasks in those statuses. Only ids: the limits themselves are read per
    queue (queue_with_abandon_limits), so one bad value fails its queue alone."""
    live = (
        select(TaskRow.id)
        .where(
            TaskRow.queue_id == QueueRow.id,
            TaskRow.status.in_([NEW, IN_PROGRESS]),
            TaskRow.is_deleted.is_(False),
        )
        .exists()
    )
    rows = session.execute(
        select(QueueRow.id, QueueRow.guid, QueueRow.account_id).where(
            QueueRow.is_deleted.is_(False),
            (QueueRow.abandon_new_minutes.is_not(None))
            | (QueueRow.abandon_in_progress_minutes.is_not(None)),
            live,
        )
    )
    return [(row.id, row.guid, row.account_id) for row in rows]


def queue_with_abandon_limits(session: Session, queue_id: int) -> QueueRow | None:
    """The live queue, if it still has an abandon limit."""
    return session.scalar(
        select(QueueRow).where(
            QueueRow.id == queue_id,
            QueueRow.is_deleted.is_(False),
            (QueueRow.abandon_new_minutes.is_not(None))
            | (QueueRow.abandon_in_progress_minutes.is_not(None)),
        )
    )


def stale_tasks(
    session: Session, queue_id: int, status: TaskStatus, before: datetime, limit: int
) -> Sequence[TaskRow]:
    """Tasks of the queue in `status` since before `before` (New: since their last status
    change; In Progress: since they started), locked."""
    since = TaskRow.started_at if status == TaskStatus.IN_PROGRESS else TaskRow.status_changed_at
    return session.scalars(
        select(TaskRow)
        .where(
            TaskRow.queue_id == queue_id,
            TaskRow.status == int(status),
            TaskRow.is_deleted.is_(False),
            since < before,
        )
        .limit(limit)
        .with_for_update()
    ).all()


def in_progress_of_job(session: Session, job_id: int) -> list[tuple[TaskRow, QueueRow]]:
    """In Progress tasks of a job in queues that change status with the job, locked."""
    conditions = [
        TaskRow.job_id == job_id,
        TaskRow.status == int(TaskStatus.IN_PROGRESS),
        QueueRow.auto_change_status.is_(True),
    ]
    return _locked_with_queues(session, conditions)


# Queue counts


def counts_by_status(session: Session, queue_ids: list[int]) -> list[tuple[int, int, int]]:
    """(queue id, status, tasks) of the live tasks of the queues."""
    rows = session.execute(
        select(TaskRow.queue_id, TaskRow.status, func.count())
        .where(TaskRow.queue_id.in_(queue_ids), TaskRow.is_deleted.is_(False))
        .group_by(TaskRow.queue_id, TaskRow.status)
    )
    return [(queue_id, status, count) for queue_id, status, count in rows]


def in_progress_count(session: Session, queue_id: int) -> int:
    """Live tasks of the queue In Progress."""
    return (
        session.scalar(
            select(func.count())
            .select_from(TaskRow)
            .where(
                TaskRow.queue_id == queue_id,
                TaskRow.status == int(TaskStatus.IN_PROGRESS),
                TaskRow.is_deleted.is_(False),
            )
        )
        or 0
    )
