"""Task filters, shared by take, filter/read, filter/list and lastTask: the `{filters}` path
syntax (docs/queues.md) and a request's filters as the keywords of
db.task_statements.filter_conditions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from robofleet.server.domain.errors import InvalidInput
from robofleet.server.schemas.queues import TaskFilter

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
