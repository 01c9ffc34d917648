"""Task row shapes the statements return and take: records, new rows, history values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple, TypedDict, cast

from sqlalchemy import Select, Table

from robofleet.contract import TaskStatus
from robofleet.server.db.tables import TaskEventRow, TaskRow
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS

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


class TaskMove(TypedDict):
    """What a history entry says of a task's move: from, to, by whom, why, when."""

    from_status: int | None
    to_status: int
    actor: str
    reason: str
    at: datetime


class TaskEventValues(TaskMove):
    """One history entry (insert_events): a move of one task."""

    account_id: int
    task_id: int


class TaskIds(NamedTuple):
    id: int
    guid: str
    queue_id: int


class FinishedTask(NamedTuple):
    """What a batch's finish needs of each task it finished: to check them and log them."""

    id: int
    guid: str
    account_id: int


FINISHED = tuple(TASKS.c[name] for name in FinishedTask._fields)


take_order_key: Callable[[TaskLike], tuple[Any, ...]] = attrgetter(*TAKE_ORDER)
"""The take order as a sort key of loaded or returned tasks."""


def take_order(query: Select[Any]) -> Select[Any]:
    return query.order_by(*(TASKS.c[name] for name in TAKE_ORDER))
