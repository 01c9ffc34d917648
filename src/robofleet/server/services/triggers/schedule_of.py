"""A trigger row's schedule as domain.schedules reads it, with its calendar resource."""

from __future__ import annotations

from datetime import time

from sqlalchemy.orm import Session

from robofleet.calendars import Calendar, CalendarError
from robofleet.server.db.tables import ResourceRow, TriggerRow
from robofleet.server.domain.schedules import DailyWindow, Schedule, ScheduleError, ScheduleKind

CALENDAR_TYPE = 3


def _clock(value: str | None, field: str) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ScheduleError(field, f"not a time of day (HH:MM): {value!r}") from None


def schedule_of(trigger: TriggerRow) -> Schedule:
    """The schedule the trigger's columns describe (ScheduleError names a bad column)."""
    start = _clock(trigger.window_start, "WindowStart")
    end = _clock(trigger.window_end, "WindowEnd")
    return Schedule(
        kind=ScheduleKind(trigger.schedule_kind),
        time_zone=trigger.time_zone or "UTC",
        cron=trigger.cron_tab,
        day_of_month=trigger.day_of_month,
        time_of_day=_clock(trigger.time_of_day, "TimeOfDay"),
        working_days=trigger.working_days,
        skip_non_working=trigger.skip_non_working,
        window=DailyWindow(start, end) if start is not None and end is not None else None,
        valid_from=trigger.start_at,
        valid_to=trigger.end_at,
    )


def calendar_of(session: Session, trigger: TriggerRow) -> Calendar | None:
    """The trigger's calendar (a Type 3 resource's Text), or None without one."""
    if trigger.calendar_id is None:
        return None
    resource = session.get(ResourceRow, trigger.calendar_id)
    if resource is None or resource.is_deleted or resource.type != CALENDAR_TYPE:
        raise ScheduleError("CalendarId", f"calendar resource {trigger.calendar_id} is gone")
    try:
        return Calendar.from_json(resource.text)
    except CalendarError as exc:
        raise ScheduleError("CalendarId", f"the calendar resource is not valid: {exc}") from None
