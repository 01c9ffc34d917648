"""The API's side of schedule times: a trigger's next fire time on every write that moves it,
and domain.schedules' refusals as the API's 422 naming the request field.

The row -> Schedule translation is services.triggers.schedule_of (shared with the engine)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from robofleet.calendars import Calendar
from robofleet.contract import TriggerStatus
from robofleet.server.db.tables import TriggerRow
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.schedules import Schedule, ScheduleError, check, next_fire
from robofleet.server.services.triggers import schedule_of as rows

T = TypeVar("T")
_FIELDS = {"Calendar": "CalendarId"}
"""domain.schedules' field names that the request spells otherwise."""


def as_invalid_input(work: Callable[[], T]) -> T:
    """Run `work`; a ScheduleError becomes InvalidInput on the field it names (422)."""
    try:
        return work()
    except ScheduleError as exc:
        raise InvalidInput.for_field(_FIELDS.get(exc.field, exc.field), exc.message) from None


def clock(text: str | None) -> time | None:
    """`HH:MM` as schemas.trigger_conditions.ClockTime stores it."""
    return time.fromisoformat(text) if text else None


def schedule_of(row: TriggerRow) -> Schedule:
    return as_invalid_input(lambda: rows.schedule_of(row))


def calendar_of(session: Session, row: TriggerRow) -> Calendar | None:
    return as_invalid_input(lambda: rows.calendar_of(session, row))


def checked(schedule: Schedule, calendar: Calendar | None) -> None:
    as_invalid_input(lambda: check(schedule, calendar))


def first_fire(schedule: Schedule, calendar: Calendar | None, now: datetime) -> datetime | None:
    """The next fire time after now (or at the start of validity, when later)."""
    after = now
    if schedule.valid_from is not None and schedule.valid_from > now:
        # From just before the start, so a fire time at the very start counts.
        after = schedule.valid_from - timedelta(microseconds=1)
    return as_invalid_input(lambda: next_fire(schedule, after, calendar))


def refresh_next_fire(session: Session, row: TriggerRow, now: datetime) -> None:
    """An enabled trigger's next fire time from now; none for a disabled or completed one."""
    if row.status != TriggerStatus.ENABLED or row.is_deleted:
        row.next_fire_at = None
        return
    row.next_fire_at = first_fire(schedule_of(row), calendar_of(session, row), now)
