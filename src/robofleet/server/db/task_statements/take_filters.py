"""A take's filters (docs/queues.md: tags, name, priority, age) with their values bound, so the
lean takes (services.tasks.on_driver on PostgreSQL, lean_sqlite on SQLite) prepare one
statement per SHAPE of filter, not one per request: which filters are given, how many tags
and which of them are excluded, which priorities. The values (the LIKE patterns, the time)
are parameters `p_f_*`. lookup.filter_conditions, the session path's, reads the same
parts (parsed_tags, tag_pattern, like_pattern), so both mean one thing by a filter."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, not_

from robofleet.server.db.base import literal_int
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS

MAX_TAGS = 4
"""The most tags a lean take's filter names; one naming more is the session path's (each
count of tags is a statement of its own, prepared on every connection)."""


class FilterShape(NamedTuple):
    """What a take's filters look like, values aside: the key of its prepared statement."""

    priorities: tuple[int, ...]
    excluded: tuple[bool, ...]
    """Per tag, in the order given: whether the task must NOT carry it."""
    name: bool
    created_after: bool


def like_pattern(wildcards: str) -> str:
    """`*` and `?` wildcards as a LIKE pattern (escape `\\`)."""
    escaped = wildcards.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def parsed_tags(spec: str) -> list[tuple[bool, str]]:
    """`+a;-b`: (excluded, tag) per tag named, blanks skipped."""
    tags: list[tuple[bool, str]] = []
    for raw in spec.split(";"):
        part = raw.strip()
        tag = part.lstrip("+-").strip()
        if tag:
            tags.append((part.startswith("-"), tag))
    return tags


def tag_pattern(tag: str) -> str:
    """The LIKE pattern of a task carrying `tag` (tags are stored `;a;b;`)."""
    return f"%;{like_pattern(tag)};%"


def filter_shape(
    *,
    tags: str | None,
    name: str | None,
    priority: list[int] | None,
    created_after: datetime | None,
) -> tuple[FilterShape, dict[str, Any]] | None:
    """The shape of a take's filters and the values of its parameters; None when it names
    more than MAX_TAGS tags."""
    parsed = parsed_tags(tags) if tags else []
    if len(parsed) > MAX_TAGS:
        return None
    values: dict[str, Any] = {f"p_f_tag_{i}": tag_pattern(tag) for i, (_, tag) in enumerate(parsed)}
    if name:
        values["p_f_name"] = like_pattern(name)
    if created_after:
        values["p_f_created_after"] = created_after
    shape = FilterShape(
        priorities=tuple(sorted(set(priority or ()))),
        excluded=tuple(excluded for excluded, _ in parsed),
        name=bool(name),
        created_after=bool(created_after),
    )
    return shape, values


@cache
def shape_conditions(shape: FilterShape | None) -> tuple[ColumnElement[bool], ...]:
    """The conditions of a filter of this shape, over the parameters filter_shape fills;
    none for no filter (the whole queue)."""
    escape = "\\"
    conditions: list[ColumnElement[bool]] = []
    if shape is None:
        return ()
    if shape.priorities:
        conditions.append(TASKS.c.priority.in_([literal_int(p) for p in shape.priorities]))
    for i, excluded in enumerate(shape.excluded):
        has = TASKS.c.tags.like(bindparam(f"p_f_tag_{i}", type_=TASKS.c.tags.type), escape=escape)
        conditions.append(not_(has) if excluded else has)
    if shape.name:
        pattern = bindparam("p_f_name", type_=TASKS.c.name.type)
        conditions.append(TASKS.c.name.like(pattern, escape=escape))
    if shape.created_after:
        since = bindparam("p_f_created_after", type_=TASKS.c.created_at.type)
        conditions.append(TASKS.c.created_at > since)
    return tuple(conditions)
