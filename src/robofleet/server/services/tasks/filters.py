"""Task filters, shared by take, filter/read, filter/list and lastTask: the `{filters}` path
syntax (docs/queues.md) and a request's filters as the keywords of
db.task_statements.filter_conditions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from robofleet.server.db.task_statements.take_filters import FilterShape, filter_shape
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.schemas.queues import TakeRequest, TaskFilter

_FILTER_KEYS = {"status", "priority", "tags", "name", "created_after", "offset", "count", "take"}


class FilterFields(TypedDict):
    tags: str | None
    name: str | None
    priority: list[int] | None
    created_after: datetime | None
    status: list[int] | None


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


def filter_from(fields: TaskFilter) -> FilterFields:
    return {
        "tags": fields.tags,
        "name": fields.name,
        "priority": fields.priority,
        "created_after": fields.created_after,
        "status": fields.status,
    }


def take_filter(data: TakeRequest) -> tuple[FilterShape | None, dict[str, Any]] | None:
    """A lean take's filter: its shape (None: the whole queue) and the values it binds; None
    when the lean take leaves it to the session path (take_filters.MAX_TAGS)."""
    if not data.filtered:
        return None, {}
    return filter_shape(
        tags=data.tags, name=data.name, priority=data.priority, created_after=data.created_after
    )
