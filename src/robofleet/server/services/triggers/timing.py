"""A trigger row's schedule as domain.schedules sees it, and its next fire time.

The rows keep the schedule in columns (times of day as `HH:MM` text, the calendar as a
resource id); domain.schedules works on a `Schedule` value and a `Calendar`. This module is
the one translation between them."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from robofleet.calendars import Calendar, CalendarError
from robofleet.server.db.tables import ResourceRow, TriggerRow
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.schedules import (
    DailyWindow,
    Schedule,
    ScheduleError,
    ScheduleKind,
    check,
    next_fire,
)


def clock(text: str | None) -> time | None:
    if not text:
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def schedule_of(row: TriggerRow) -> Schedule:
    start, end = clock(row.window_start), clock(row.window_end)
    return Schedule(
        kind=ScheduleKind(row.schedule_kind),
        time_zone=row.time_zone,
        cron=row.cron_tab,
        day_of_month=row.day_of_month,
        time_of_day=clock(row.time_of_day),
        working_days=row.working_days,
        skip_non_working=row.skip_non_working,
        window=DailyWindow(start, end) if start is not None and end is not None else None,
        valid_from=row.start_at,
        valid_to=row.end_at,
    )


def calendar_of(session: Session, calendar_id: int | None) -> Calendar | None:
    """The calendar a trigger names; its text was checked when the resource was written."""
    if calendar_id is None:
        return None
    resource = session.get(ResourceRow, calendar_id)
    if resource is None:
        return None
    try:
        return Calendar.from_json(resource.text)
    except CalendarError as exc:
        raise InvalidInput.for_field("CalendarId", f"the calendar is not valid: {exc}") from None


def checked(schedule: Schedule, calendar: Calendar | None) -> None:
    """domain.schedules.check as the API's 422, naming the request field."""
    try:
        check(schedule, calendar)
    except ScheduleError as exc:
        raise InvalidInput.for_field(exc.field, exc.message) from None


def first_fire(schedule: Schedule, calendar: Calendar | None, now: datetime) -> datetime | None:
    """The next fire time after now (or at the start of validity, when later)."""
    after = now
    if schedule.valid_from is not None and schedule.valid_from > now:
        # From just before the start, so a fire time at the very start counts.
        after = schedule.valid_from - timedelta(microseconds=1)
    try:
        return next_fire(schedule, after, calendar)
    except ScheduleError as exc:
        raise InvalidInput.for_field(exc.field, exc.message) from None


def refresh_next_fire(session: Session, row: TriggerRow, now: datetime) -> None:
    """An enabled trigger's next fire time from now; none for a disabled or completed one."""
    if row.status != 1 or row.is_deleted:
        row.next_fire_at = None
        return
    schedule = schedule_of(row)
    row.next_fire_at = first_fire(schedule, calendar_of(session, row.calendar_id), now)
