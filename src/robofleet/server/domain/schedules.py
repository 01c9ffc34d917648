"""When a trigger's schedule fires: pure rules over times, no database, no clock of its own.

Every time in and out is an aware UTC datetime (a naive one is read as UTC); the schedule's
own fields (cron, time of day, window, the calendar's dates) are read in its time zone.
docs/triggers.md, "When a schedule fires", tells the same rules to users.

- Candidates: a cron expression's matches (schedule_cron), or one local time on the last or
  n-th (working) day of each month. A day number the month lacks (31 in April) means the
  month's last day; an n-th working day past the month's count means its last working day.
- DST: schedule_clock turns a local time into an instant (a repeated time fires once, at its
  first occurrence; a time in a gap fires when the gap ends).
- Filters: a candidate outside the daily window, on a non-working day (skip_non_working),
  before valid_from or after valid_to is not a fire time. Working-day rules without a
  calendar use the default Monday-Friday week.
- Every search stops HORIZON ahead: "no fire" is the answer for a schedule that would first
  fire later than that, so a schedule that can never fire cannot loop.
"""

from __future__ import annotations

import calendar as _month_lengths
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from robofleet.calendars import Calendar
from robofleet.server.domain.schedule_clock import as_utc, to_utc, wall_clock, zone_of
from robofleet.server.domain.schedule_cron import CronError, CronShape, next_match, shape


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
    """Run only between start and end (local time); end < start wraps past midnight.
    The start is inside the window, the end is not."""

    start: time
    end: time


@dataclass(frozen=True)
class Schedule:
    kind: ScheduleKind
    time_zone: str = "UTC"
    cron: str | None = None
    """5 fields (minute..weekday) or 6-7 (seconds first, Quartz; see schedule_cron)."""
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
        return zone_of(self.time_zone)


HORIZON = timedelta(days=3653)
"""How far ahead a search for the next fire time looks (about ten years)."""
MISSED_COUNT_LIMIT = 100
"""due() counts missed times one by one up to this many; DueFire.skipped stops there."""
DEFAULT_CALENDAR = Calendar()
"""What working-day rules use when the trigger names no calendar: Monday to Friday."""
_MAX_STEPS = 20_000
_TINY = timedelta(microseconds=1)
_CHECK_FROM = datetime(2001, 1, 1, tzinfo=UTC)
"""Where check() looks from when it is given no time: the date rules repeat, so any start
shows a schedule that can never fire."""


# --- checking ----------------------------------------------------------------------------


def check(
    schedule: Schedule, calendar: Calendar | None = None, *, now: datetime | None = None
) -> None:
    """Raise ScheduleError, naming the API field, for a schedule that cannot be used: an
    unknown zone, a bad cron, a missing or out-of-range day or time, an empty window, an end
    before the start, or one that can never fire (searched from `now`, or from StartAt, or
    from a fixed date when neither is given)."""
    if not schedule.time_zone:
        raise ScheduleError("TimeZone", "is required (an IANA name such as Europe/Berlin)")
    try:
        schedule.zone()
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ScheduleError("TimeZone", f"unknown time zone {schedule.time_zone!r}") from None
    _check_fields(schedule)
    if schedule.window is not None and schedule.window.start == schedule.window.end:
        raise ScheduleError("WindowEnd", "equals WindowStart: the window would be empty")
    start, end = schedule.valid_from, schedule.valid_to
    if start is not None and end is not None and as_utc(end) < as_utc(start):
        raise ScheduleError("EndAt", "is before StartAt")
    if schedule.kind is not ScheduleKind.CONTINUOUS:
        _check_fires(schedule, calendar, now)


def _check_fields(schedule: Schedule) -> None:
    if schedule.kind is ScheduleKind.CRON:
        if not schedule.cron or not schedule.cron.strip():
            raise ScheduleError("CronTab", "is required for a cron schedule")
        try:
            shape(schedule.cron)
        except CronError as exc:
            raise ScheduleError("CronTab", f"{schedule.cron!r} {exc}") from None
    if schedule.kind is ScheduleKind.NTH_DAY and not (
        isinstance(schedule.day_of_month, int) and 1 <= schedule.day_of_month <= 31
    ):
        raise ScheduleError("DayOfMonth", "must be a day number 1..31")
    if schedule.kind in {ScheduleKind.LAST_DAY, ScheduleKind.NTH_DAY} and (
        schedule.time_of_day is None
    ):
        raise ScheduleError("TimeOfDay", f"is required for a {schedule.kind} schedule")


def _check_fires(schedule: Schedule, calendar: Calendar | None, now: datetime | None) -> None:
    """Add the filters one at a time, so the error names the one that leaves no fire."""
    starts = [as_utc(moment) for moment in (now, schedule.valid_from) if moment is not None]
    since = max(starts) if starts else _CHECK_FROM
    bare = replace(schedule, window=None, skip_non_working=False, valid_from=None, valid_to=None)
    steps = [
        (bare, "CronTab" if schedule.kind is ScheduleKind.CRON else "DayOfMonth", "never fires"),
        (
            replace(bare, window=schedule.window),
            "WindowStart",
            "no fire time of the schedule falls inside the daily window",
        ),
        (
            replace(bare, window=schedule.window, skip_non_working=schedule.skip_non_working),
            "Calendar",
            "every fire time of the schedule falls on a non-working day",
        ),
    ]
    for step, field, message in steps:
        if next_fire(step, since - _TINY, calendar) is None:
            raise ScheduleError(field, f"{message} (searched {HORIZON.days // 365} years)")
    if next_fire(schedule, since - _TINY, calendar) is None:
        raise ScheduleError("EndAt", "no fire time of the schedule lies between StartAt and EndAt")


# --- fire times --------------------------------------------------------------------------


def next_fire(
    schedule: Schedule, after: datetime, calendar: Calendar | None = None
) -> datetime | None:
    """The first fire time strictly after `after`, or None when there is none (past
    valid_to, or none within HORIZON). Continuous schedules fire "now": they return `after`
    itself when it is allowed, else the first allowed instant after it."""
    after = as_utc(after)
    if schedule.kind is ScheduleKind.CONTINUOUS:
        return _first_allowed(schedule, after, calendar)
    zone = schedule.zone()
    lower = after
    if schedule.valid_from is not None:
        lower = max(lower, as_utc(schedule.valid_from) - _TINY)
    limit = lower + HORIZON
    if schedule.valid_to is not None:
        limit = min(limit, as_utc(schedule.valid_to))
    candidates = _Candidates(schedule, calendar)
    cursor = wall_clock(lower, zone)
    for _ in range(_MAX_STEPS):
        local = candidates.after(cursor)
        if local is None:
            return None
        fire = to_utc(local, zone)
        if fire > limit:
            return None
        resume = None if fire <= lower else _resume_at(schedule, fire, calendar)
        if fire > lower and resume is None:
            return fire
        # A time that maps at or before `lower` (the second pass of a repeated hour) moves
        # on by one; a filtered one jumps to where the filter may let it through.
        cursor = local if resume is None else max(local, resume - _TINY)
    return None


def fire_times(
    schedule: Schedule, after: datetime, calendar: Calendar | None = None
) -> Iterator[datetime]:
    """Fire times after `after`, in order (the preview takes the first N). It ends at
    valid_to, or when no fire comes within HORIZON. A continuous schedule has no times of
    its own: it yields only the first instant it may run."""
    if schedule.kind is ScheduleKind.CONTINUOUS:
        first = next_fire(schedule, after, calendar)
        if first is not None:
            yield first
        return
    current: datetime | None = as_utc(after)
    while current is not None:
        current = next_fire(schedule, current, calendar)
        if current is not None:
            yield current


def in_window(window: DailyWindow | None, at: datetime, time_zone: str) -> bool:
    """Whether `at` lies in the daily window (always, without one)."""
    if window is None:
        return True
    local = at.astimezone(zone_of(time_zone)).time()
    if window.start <= window.end:
        return window.start <= local < window.end
    return local >= window.start or local < window.end


class _Candidates:
    """The schedule's local wall-clock times before any filter, one after another."""

    def __init__(self, schedule: Schedule, calendar: Calendar | None) -> None:
        self.schedule = schedule
        self.calendar = calendar or DEFAULT_CALENDAR
        self.cron: CronShape | None = None
        if schedule.kind is ScheduleKind.CRON:
            try:
                self.cron = shape(schedule.cron or "")
            except CronError as exc:
                raise ScheduleError("CronTab", f"{schedule.cron!r} {exc}") from None

    def after(self, cursor: datetime) -> datetime | None:
        """The first candidate strictly after naive `cursor`."""
        if self.cron is not None:
            return next_match(self.cron, cursor)
        at = self.schedule.time_of_day
        if at is None:
            raise ScheduleError("TimeOfDay", f"is required for a {self.schedule.kind} schedule")
        year, month = cursor.year, cursor.month
        for _ in range(HORIZON.days // 28):
            day = self._day(year, month)
            if day is not None:
                local = datetime.combine(day, at.replace(tzinfo=None))
                if local > cursor:
                    return local
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            if year > date.max.year:
                break
        return None

    def _day(self, year: int, month: int) -> date | None:
        """The month's day, or None when it has none (no working day at all)."""
        last = self.schedule.kind is ScheduleKind.LAST_DAY
        wanted = self.schedule.day_of_month or 1
        if self.schedule.working_days:
            days = self.calendar.working_days_in_month(year, month)
            if not days:
                return None
            return days[-1] if last else days[min(wanted, len(days)) - 1]
        length = _month_lengths.monthrange(year, month)[1]
        return date(year, month, length if last else min(wanted, length))


def _resume_at(schedule: Schedule, fire: datetime, calendar: Calendar | None) -> datetime | None:
    """None when `fire` passes the window and calendar filters; else the naive local time
    from which the next candidate may pass (the next window start, the next day)."""
    local = wall_clock(fire, schedule.zone())
    if schedule.skip_non_working and not (calendar or DEFAULT_CALENDAR).is_working_day(
        local.date()
    ):
        return datetime.combine(local.date() + timedelta(days=1), time())
    window = schedule.window
    if window is not None and not in_window(window, fire, schedule.time_zone):
        today = datetime.combine(local.date(), window.start.replace(tzinfo=None))
        return today if today > local else today + timedelta(days=1)
    return None


def _first_allowed(
    schedule: Schedule, after: datetime, calendar: Calendar | None
) -> datetime | None:
    """For a continuous schedule: `after` if it may run then, else the first instant after."""
    moment = after
    if schedule.valid_from is not None:
        moment = max(moment, as_utc(schedule.valid_from))
    limit = moment + HORIZON
    if schedule.valid_to is not None:
        limit = min(limit, as_utc(schedule.valid_to))
    for _ in range(_MAX_STEPS):
        if moment > limit:
            return None
        resume = _resume_at(schedule, moment, calendar)
        if resume is None:
            return moment
        moment = max(to_utc(resume, schedule.zone()), moment + _TINY)
    return None


# --- what is due now ---------------------------------------------------------------------


@dataclass(frozen=True)
class DueFire:
    fire_at: datetime | None
    """The scheduled time to fire for now (a missed one, or the due one), or None."""
    missed: bool
    """True when fire_at is a time missed while the scheduler was down."""
    skipped: int
    """How many due times were passed over without a fire (for the history); counted up to
    MISSED_COUNT_LIMIT, which then stands for "that many or more"."""
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
    A continuous schedule is due at `now` whenever it may run then.
    """
    now, next_at = as_utc(now), as_utc(next_at)
    if schedule.kind is ScheduleKind.CONTINUOUS:
        allowed = next_fire(schedule, now, calendar)
        return DueFire(now if allowed == now else None, False, 0, allowed)
    if next_at > now:
        return DueFire(None, False, 0, next_at)
    latest, count, following = _latest_due(schedule, next_at, now, calendar)
    passed = min(count - 1, MISSED_COUNT_LIMIT)
    if now - latest <= tolerance:
        return DueFire(latest, False, passed, following)
    if check_missed:
        return DueFire(latest, True, passed, following)
    return DueFire(None, False, min(count, MISSED_COUNT_LIMIT), following)


def _latest_due(
    schedule: Schedule, next_at: datetime, now: datetime, calendar: Calendar | None
) -> tuple[datetime, int, datetime | None]:
    """The last fire time in [next_at, now] (next_at itself counts, as the stored one), how
    many there are, counted up to one more than MISSED_COUNT_LIMIT, and the first time after
    `now` (found on the way: no time lies between the latest and `now`)."""
    latest, count = next_at, 1
    while count <= MISSED_COUNT_LIMIT:
        following = next_fire(schedule, latest, calendar)
        if following is not None and following > now:
            return latest, count, following
        if following is None:  # (None may also mean beyond the horizon from `latest`)
            return latest, count, next_fire(schedule, now, calendar)
        latest, count = following, count + 1
    following = next_fire(schedule, now, calendar)
    # A long downtime of a frequent schedule: find the latest from the near past instead of
    # walking every missed time; the span doubles until it holds a fire time.
    span = timedelta(minutes=2)
    while now - span > latest:
        found = _last_in(schedule, now - span, now, calendar)
        if found is not None:
            return found, count, following
        span *= 2
    return _last_in(schedule, latest, now, calendar) or latest, count, following


def _last_in(
    schedule: Schedule, since: datetime, until: datetime, calendar: Calendar | None
) -> datetime | None:
    found = None
    cursor: datetime | None = since
    while cursor is not None:
        cursor = next_fire(schedule, cursor, calendar)
        if cursor is None or cursor > until:
            break
        found = cursor
    return found
