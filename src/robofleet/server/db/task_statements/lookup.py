"""Adding and finding tasks: names, idempotency keys, references, filters, history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    insert,
    not_,
    select,
)
from sqlalchemy.orm import Session

from robofleet.contract import TaskStatus
from robofleet.server.db.base import literal_int
from robofleet.server.db.tables import JobRow, QueueRow, TaskEventRow, TaskRow
from robofleet.server.db.task_statements.records import (
    NewTask,
    TaskIds,
    take_order,
)
from robofleet.server.db.task_statements.take_filters import like_pattern, parsed_tags, tag_pattern
from robofleet.server.domain.refs import RefKind

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


def tag_conditions(spec: str) -> list[ColumnElement[bool]]:
    """`+a;-b`: has tag a, has not tag b (take_filters.parsed_tags, tag_pattern)."""
    conditions: list[ColumnElement[bool]] = []
    for excluded, tag in parsed_tags(spec):
        has = TaskRow.tags.like(tag_pattern(tag), escape="\\")
        conditions.append(not_(has) if excluded else has)
    return conditions


def filter_conditions(
    queue_id: int,
    *,
    tags: str | None = None,
    name: str | None = None,
    priority: list[int] | None = None,
    created_after: datetime | None = None,
    status: list[int] | None = None,
    created_before: datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The task filters (docs/queues.md) of take, filter/read, filter/list and lastTask
    (`created_before`: the web's period filter)."""
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
    if created_before:
        conditions.append(TaskRow.created_at < created_before)
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
