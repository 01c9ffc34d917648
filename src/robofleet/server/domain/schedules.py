"""When a trigger's schedule fires: pure rules over times, no database, no clock of its own.

Every time in and out is an aware UTC datetime; the schedule's own fields (cron, time of day,
window) are read in its time zone.

INTERFACE (fixed; the firing engine and the API code against it). The first version here
handles continuous and plain cron schedules only; the full rules (last / n-th (working) day,
calendars, windows, DST, valid from/to, missed fires) replace the bodies, not the signatures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from croniter import croniter

from robofleet.calendars import Calendar


class ScheduleKind(StrEnum):
    CONTINUOUS = "continuous"
    CRON = "cron"
    LAST_DAY = "last_day"
    NTH_DAY = "nth_day"


class ScheduleError(ValueError):
    """A schedule that cannot fire as written; the message names the field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DailyWindow:
    """Run only between start and end (local time); end < start wraps past midnight."""

    start: time
    end: time


@dataclass(frozen=True)
class Schedule:
    kind: ScheduleKind
    time_zone: str = "UTC"
    cron: str | None = None
    """5 fields (minute..weekday) or 6 (seconds first)."""
    day_of_month: int | None = None
    """nth_day: 1..31 (the n-th working day with working_days)."""
    time_of_day: time | None = None
    """last_day / nth_day: when on that day."""
    working_days: bool = False
    skip_non_working: bool = False
    window: DailyWindow | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def check(schedule: Schedule, calendar: Calendar | None = None) -> None:
    """Raise ScheduleError when the schedule cannot be used (bad cron, unknown zone, n-th
    day out of range, a calendar rule without a calendar...)."""
    try:
        schedule.zone()
    except Exception:
        raise ScheduleError("TimeZone", f"unknown time zone {schedule.time_zone!r}") from None
    if schedule.kind is ScheduleKind.CRON and (
        not schedule.cron or not croniter.is_valid(schedule.cron)
    ):
        raise ScheduleError("CronTab", f"not a cron expression: {schedule.cron!r}")


def next_fire(
    schedule: Schedule, after: datetime, calendar: Calendar | None = None
) -> datetime | None:
    """The first fire time strictly after `after`, or None when there is none (past
    valid_to). Continuous schedules fire "now": they return `after` itself."""
    if schedule.kind is ScheduleKind.CONTINUOUS:
        return after
    if schedule.kind is not ScheduleKind.CRON or schedule.cron is None:
        raise ScheduleError("ScheduleKind", f"{schedule.kind} is not implemented yet")
    local = after.astimezone(schedule.zone())
    found: datetime = croniter(schedule.cron, local).get_next(datetime)
    fire = found.astimezone(UTC)
    if schedule.valid_to is not None and fire > schedule.valid_to:
        return None
    return fire


def fire_times(
    schedule: Schedule, after: datetime, calendar: Calendar | None = None
) -> Iterator[datetime]:
    """Fire times after `after`, in order (the preview takes the first N)."""
    current = after
    while True:
        fire = next_fire(schedule, current, calendar)
        if fire is None:
            return
        yield fire
        current = fire if fire > current else current + timedelta(seconds=1)


def in_window(window: DailyWindow | None, at: datetime, time_zone: str) -> bool:
    """Whether `at` lies in the daily window (always, without one)."""
    if window is None:
        return True
    local = at.astimezone(ZoneInfo(time_zone)).time()
    if window.start <= window.end:
        return window.start <= local < window.end
    return local >= window.start or local < window.end


@dataclass(frozen=True)
class DueFire:
    fire_at: datetime | None
    """The scheduled time to fire for now (a missed one, or the due one), or None."""
    missed: bool
    """True when fire_at is a time missed while the scheduler was down."""
    skipped: int
    """How many due times were passed over without a fire (for the history)."""
    next_at: datetime | None
    """The next fire time after now, to store on the trigger."""


def due(
    schedule: Schedule,
    *,
    next_at: datetime,
    now: datetime,
    check_missed: bool,
    tolerance: timedelta = timedelta(seconds=60),
    calendar: Calendar | None = None,
) -> DueFire:
    """What to do at `now` for a trigger whose stored next fire time is `next_at` (<= now).

    A time due within `tolerance` is an on-time fire. Older due times were missed: with
    check_missed, one fire for all of them (the latest), never a burst; without it, none.
    """
    times = []
    cursor: datetime | None = next_at
    while cursor is not None and cursor <= now:
        times.append(cursor)
        following = next_fire(schedule, cursor, calendar)
        if following is None or following <= cursor:
            cursor = following if following is None else cursor + timedelta(seconds=1)
            break
        cursor = following
    next_after_now = cursor if cursor is not None and cursor > now else None
    if not times:
        return DueFire(None, False, 0, next_after_now or next_at)
    latest = times[-1]
    if now - latest <= tolerance:
        return DueFire(latest, False, len(times) - 1, next_after_now)
    if check_missed:
        return DueFire(latest, True, len(times) - 1, next_after_now)
    return DueFire(None, False, len(times), next_after_now)
