"""What a trigger will do and what it did: the next fire times (of a stored trigger or of an
unsaved schedule) and its fires, newest first."""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from sqlalchemy import func, select

from robofleet.calendars import Calendar, CalendarError
from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import TriggerFireRow, TriggerRow
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.schedules import (
    DailyWindow,
    Schedule,
    ScheduleError,
    ScheduleKind,
    fire_times,
)
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import Page
from robofleet.server.schemas.triggers import (
    FireTime,
    HistoryQuery,
    TriggerFireRead,
    TriggerPreview,
    TriggerSchedule,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.resources.scope import find_resource
from robofleet.server.services.triggers.apply import CALENDAR, CONTINUOUS
from robofleet.server.services.triggers.crud import find_trigger
from robofleet.server.services.triggers.timing import (
    calendar_of,
    checked,
    clock,
    schedule_of,
)
from robofleet.server.services.triggers.views import fire_view


def _preview(
    schedule: Schedule, calendar: Calendar | None, count: int, now: datetime
) -> TriggerPreview:
    if schedule.kind is ScheduleKind.CONTINUOUS:
        return TriggerPreview(time_zone=schedule.time_zone, continuous=True, fire_times=[])
    after = now
    if schedule.valid_from is not None and schedule.valid_from > now:
        after = schedule.valid_from
    try:
        times = list(islice(fire_times(schedule, after, calendar), count))
    except ScheduleError as exc:
        raise InvalidInput.for_field(exc.field, exc.message) from None
    zone = schedule.zone()
    return TriggerPreview(
        time_zone=schedule.time_zone,
        continuous=False,
        fire_times=[FireTime(at=at, local=at.astimezone(zone).isoformat()) for at in times],
    )


def preview_trigger(runtime: Runtime, caller: Caller, ref: int | str, count: int) -> TriggerPreview:
    caller.require(Screen.TRIGGER, Action.READ)
    with runtime.db.read() as session:
        row = find_trigger(session, caller, ref)
        return _preview(schedule_of(row), calendar_of(session, row), count, utcnow())


def preview_schedule(runtime: Runtime, caller: Caller, data: TriggerSchedule) -> TriggerPreview:
    """The fire times of a schedule not saved yet, checked as create would check it."""
    caller.require(Screen.TRIGGER, Action.READ)
    kind = data.schedule_kind or ("continuous" if data.processing_type == CONTINUOUS else "cron")
    start, end = clock(data.window_start), clock(data.window_end)
    if (start is None) != (end is None):
        raise InvalidInput.for_field(
            "WindowEnd" if end is None else "WindowStart",
            "a time window needs both WindowStart and WindowEnd",
        )
    schedule = Schedule(
        kind=ScheduleKind(kind),
        time_zone=data.time_zone or "UTC",
        cron=data.cron_tab,
        day_of_month=data.day_of_month,
        time_of_day=clock(data.time_of_day),
        working_days=bool(data.working_days),
        skip_non_working=bool(data.skip_non_working_days),
        window=DailyWindow(start, end) if start is not None and end is not None else None,
        valid_from=data.start_at,
        valid_to=data.end_at,
    )
    with runtime.db.read() as session:
        calendar = None
        if data.calendar is not None:
            resource = find_resource(session, caller, data.calendar, field="CalendarId")
            if resource.type != CALENDAR:
                raise InvalidInput.for_field(
                    "CalendarId", f"resource '{resource.name}' is not a calendar (Type 3)"
                )
            try:
                calendar = Calendar.from_json(resource.text)
            except CalendarError as exc:
                raise InvalidInput.for_field(
                    "CalendarId", f"the calendar is not valid: {exc}"
                ) from None
    checked(schedule, calendar)
    return _preview(schedule, calendar, data.count, utcnow())


def trigger_history(
    runtime: Runtime, caller: Caller, ref: int | str, query: HistoryQuery
) -> Page[TriggerFireRead]:
    caller.require(Screen.TRIGGER, Action.READ)
    with runtime.db.read() as session:
        trigger: TriggerRow = find_trigger(session, caller, ref)
        fires = select(TriggerFireRow).where(TriggerFireRow.trigger_id == trigger.id)
        total = session.scalar(select(func.count()).select_from(fires.subquery())) or 0
        page = session.scalars(
            fires.order_by(TriggerFireRow.id.desc()).offset(query.offset).limit(query.count)
        ).all()
        items = [fire_view(session, row) for row in page]
        return Page(items=items, total=total, offset=query.offset, count=len(items))
