"""The moves between task (queue item) statuses (robofleet.contract.TaskStatus), and tags."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from robofleet.contract import TaskStatus as TaskStatus
from robofleet.server.domain.errors import InvalidTransition

FINISHES = frozenset(
    {
        TaskStatus.SUCCESS,
        TaskStatus.FAILED_APPLICATION,
        TaskStatus.FAILED_BUSINESS,
        TaskStatus.POSTPONED,
    }
)
"""What the holder of a lease may set."""

FAILURES = frozenset(
    {TaskStatus.FAILED_APPLICATION, TaskStatus.FAILED_BUSINESS, TaskStatus.ABANDONED}
)

PROCESSING: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.NEW: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.ABANDONED}),
    TaskStatus.IN_PROGRESS: FINISHES | {TaskStatus.ABANDONED},
    TaskStatus.POSTPONED: frozenset({TaskStatus.NEW}),
}
"""Moves made by takers, lease holders and the scheduler's timers."""

_SETTABLE = frozenset(TaskStatus) - {TaskStatus.IN_PROGRESS}
MANUAL: dict[TaskStatus, frozenset[TaskStatus]] = {s: _SETTABLE - {s} for s in TaskStatus}
"""An operator may set any status except In Progress, which only a take (with a lease) sets."""


def check_transition(current: TaskStatus, requested: TaskStatus, *, manual: bool) -> None:
    table = MANUAL if manual else PROCESSING
    if requested not in table.get(current, frozenset()):
        raise InvalidTransition("task", current.label, requested.label)


def normalize_tags(raw: str | list[str] | None) -> list[str]:
    """Tags are `;`-separated; empty parts and repeats are dropped, order kept."""
    if raw is None:
        return []
    parts = raw if isinstance(raw, list) else raw.split(";")
    tags: list[str] = []
    for part in parts:
        tag = str(part).strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def stored_tags(tags: list[str]) -> str:
    """Stored with a `;` on each side so one tag matches with LIKE '%;tag;%'."""
    return ";" + ";".join(tags) + ";" if tags else ""


def tags_of(stored: str) -> list[str]:
    return [t for t in stored.split(";") if t]


def abandon_cutoff(now: datetime, minutes: object) -> datetime | None:
    """Tasks in a status since before this time are abandoned by a limit of `minutes`; None
    when the limit abandons nothing: unset, not a positive finite number, or so large that
    no task can be that old (the time before it would fall off the calendar: 1e12 minutes,
    Infinity, NaN). Stored limits are bounded on input, but a bad row must never break the
    scheduler for every account."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        return None
    if not math.isfinite(minutes) or minutes <= 0:
        return None
    oldest = datetime.min.replace(tzinfo=now.tzinfo) + timedelta(days=1)  # a margin for rounding
    if minutes >= (now - oldest) / timedelta(minutes=1):
        return None
    return now - timedelta(minutes=minutes)
