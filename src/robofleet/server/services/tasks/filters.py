"""Task filters, shared by take, filter/read, filter/list and lastTask, and the `{filters}`
path syntax (docs/queues.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, not_, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import literal_int
from robofleet.server.db.tables import TaskRow
from robofleet.server.db.task_statements import take_order
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.schemas.queues import TaskFilter

_FILTER_KEYS = {"status", "priority", "tags", "name", "created_after", "offset", "count", "take"}


def parse_filter_path(path: str) -> dict[str, Any]:
    """`status=0,1/priority=3/tags=+a;-b/name=INV-*` (segments may also be joined by `&`)."""
    fields: dict[str, Any] = {}
    for segment in path.replace("&", "/").split("/"):
        if not segment.strip():
            continue
        key, sep, value = segment.partition("=")
        name = key.strip().lower().replace("-", "_")
        if not sep or name not in _FILTER_KEYS:
            raise InvalidInput.for_field(
                "filters",
                f"'{segment}' is not a filter; use key=value with keys "
                f"{', '.join(sorted(_FILTER_KEYS))}",
            )
        fields[name] = value.strip()
    return fields


def like_pattern(wildcards: str) -> str:
    escaped = wildcards.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def tag_conditions(spec: str) -> list[ColumnElement[bool]]:
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


def task_conditions(
    queue_id: int,
    *,
    tags: str | None = None,
    name: str | None = None,
    priority: list[int] | None = None,
    created_after: datetime | None = None,
    status: list[int] | None = None,
) -> list[ColumnElement[bool]]:
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


def next_new_tasks(
    session: Session, conditions: list[ColumnElement[bool]], *, count: int
) -> list[TaskRow]:
    """New tasks in take order, not taken (see tasks.state.take_rank for the order)."""
    query = select(TaskRow).where(*conditions, TaskRow.status == literal_int(TaskStatus.NEW))
    return list(session.scalars(take_order(query).limit(count)))


def filter_from(fields: TaskFilter) -> dict[str, Any]:
    return {
        "tags": fields.tags,
        "name": fields.name,
        "priority": fields.priority,
        "created_after": fields.created_after,
        "status": fields.status,
    }
