"""What is due now (on time, missed with and without CheckMissedTrigger, never a burst) and
check(): every schedule that cannot fire is refused, naming the API field."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from robofleet.calendars import Calendar
from robofleet.server.domain.schedules import (
    MISSED_COUNT_LIMIT,
    DailyWindow,
    DueFire,
    Schedule,
    ScheduleError,
    ScheduleKind,
    check,
    due,
)

CRON, LAST, NTH, CONT = (
    ScheduleKind.CRON,
    ScheduleKind.LAST_DAY,
    ScheduleKind.NTH_DAY,
    ScheduleKind.CONTINUOUS,
)
DAILY_NINE = Schedule(CRON, cron="0 9 * * *")
EVERY_MINUTE = Schedule(CRON, cron="* * * * *")
EVERY_SECOND = Schedule(CRON, cron="* * * * * ?")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "next_at", "now", "check_missed", "expected"),
    [
        # On time (within the tolerance): the due time fires, not counted as missed.
        (
            DAILY_NINE,
            "2026-01-02 09:00",
            "2026-01-02 09:00:05",
            False,
            DueFire(at("2026-01-02 09:00"), False, 0, at("2026-01-03 09:00")),
        ),
        # Not yet due: nothing, the stored time stays.
        (
            DAILY_NINE,
            "2026-01-02 09:00",
            "2026-01-02 08:59",
            True,
            DueFire(None, False, 0, at("2026-01-02 09:00")),
        ),
        # Down for nine days and a bit, with CheckMissedTrigger: one fire for all ten missed
        # times (the latest), nine passed over.
        (
            DAILY_NINE,
            "2026-01-01 09:00",
            "2026-01-10 12:00",
            True,
            DueFire(at("2026-01-10 09:00"), True, 9, at("2026-01-11 09:00")),
        ),
        # The same without it: no fire, all ten passed over, on to the next time.
        (
            DAILY_NINE,
            "2026-01-01 09:00",
            "2026-01-10 12:00",
            False,
            DueFire(None, False, 10, at("2026-01-11 09:00")),
        ),
        # One missed time (the scheduler was down over it).
        (
            DAILY_NINE,
            "2026-01-02 09:00",
            "2026-01-02 09:30",
            True,
            DueFire(at("2026-01-02 09:00"), True, 0, at("2026-01-03 09:00")),
        ),
        # Back just in time for a later one: that fires on time, the older ones are passed.
        (
            DAILY_NINE,
            "2026-01-01 09:00",
            "2026-01-03 09:00:30",
            False,
            DueFire(at("2026-01-03 09:00"), False, 2, at("2026-01-04 09:00")),
        ),
        # A month of downtime of an every-minute schedule: one fire, the count stops at the
        # limit, and the latest is found without walking 40,000 times.
        (
            EVERY_MINUTE,
            "2026-01-01 00:00",
            "2026-02-01 12:00:30",
            True,
            DueFire(at("2026-02-01 12:00"), False, MISSED_COUNT_LIMIT, at("2026-02-01 12:01")),
        ),
        (
            EVERY_SECOND,
            "2026-01-01 00:00",
            "2026-01-05 12:00:30.5",
            True,
            DueFire(
                at("2026-01-05 12:00:30"), False, MISSED_COUNT_LIMIT, at("2026-01-05 12:00:31")
            ),
        ),
        # A schedule that ended while the scheduler was down: the missed fire, then nothing.
        (
            Schedule(CRON, cron="0 9 * * *", valid_to=at("2026-01-05 00:00")),
            "2026-01-01 09:00",
            "2026-01-10 12:00",
            True,
            DueFire(at("2026-01-04 09:00"), True, 3, None),
        ),
    ],
)
def test_due(
    schedule: Schedule, next_at: str, now: str, check_missed: bool, expected: DueFire
) -> None:
    assert due(schedule, next_at=at(next_at), now=at(now), check_missed=check_missed) == expected


def test_frequent_schedule_after_a_long_downtime_misses_once() -> None:
    result = due(
        EVERY_MINUTE,
        next_at=at("2026-01-01 00:00"),
        now=at("2026-01-20 12:00:30"),
        check_missed=True,
        tolerance=timedelta(seconds=10),
    )
    assert result == DueFire(
        at("2026-01-20 12:00"), True, MISSED_COUNT_LIMIT, at("2026-01-20 12:01")
    )


def test_missed_fires_respect_calendar_and_window() -> None:
    schedule = Schedule(
        CRON, cron="0 * * * *", window=DailyWindow(time(9), time(12)), skip_non_working=True
    )
    # Down from Friday 10:00 to Monday 08:00: Friday 11:00 was the last due time.
    result = due(
        schedule, next_at=at("2026-01-02 10:00"), now=at("2026-01-05 08:00"), check_missed=True
    )
    assert result == DueFire(at("2026-01-02 11:00"), True, 1, at("2026-01-05 09:00"))


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        (
            Schedule(CONT),
            "2026-01-03 12:00",
            DueFire(at("2026-01-03 12:00"), False, 0, at("2026-01-03 12:00")),
        ),
        (
            Schedule(CONT, skip_non_working=True),
            "2026-01-03 12:00",  # a Saturday
            DueFire(None, False, 0, at("2026-01-05 00:00")),
        ),
    ],
)
def test_continuous_is_due_whenever_it_may_run(
    schedule: Schedule, now: str, expected: DueFire
) -> None:
    assert due(schedule, next_at=at(now), now=at(now), check_missed=False) == expected


# --- check() ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule(CONT),
        Schedule(CRON, "Europe/Berlin", cron="0 9 * * 1-5"),
        Schedule(CRON, cron="0 30 9 ? * MON-FRI"),
        Schedule(CRON, cron="0 0 12 ? * 2#1 *"),
        Schedule(CRON, cron="0 0 29 2 *"),  # every leap year
        Schedule(NTH, day_of_month=31, time_of_day=time(8)),
        Schedule(LAST, time_of_day=time(8), working_days=True, skip_non_working=True),
        Schedule(CRON, cron="0 23 * * *", window=DailyWindow(time(22), time(2))),
    ],
)
def test_check_accepts(schedule: Schedule) -> None:
    check(schedule)


NOW = at("2026-06-01 00:00")


@pytest.mark.parametrize(
    ("schedule", "calendar", "field"),
    [
        (Schedule(CRON, "Mars/Olympus", cron="* * * * *"), None, "TimeZone"),
        (Schedule(CRON, "../../etc/passwd", cron="* * * * *"), None, "TimeZone"),
        (Schedule(CRON, "", cron="* * * * *"), None, "TimeZone"),
        (Schedule(CRON), None, "CronTab"),
        (Schedule(CRON, cron="  "), None, "CronTab"),
        (Schedule(CRON, cron="61 * * * *"), None, "CronTab"),
        (Schedule(CRON, cron="* * *"), None, "CronTab"),
        (Schedule(CRON, cron="0 0 0 * * * * *"), None, "CronTab"),  # 8 fields
        (Schedule(CRON, cron="H 9 * * *"), None, "CronTab"),
        (Schedule(CRON, cron="0 0 9 * * 0"), None, "CronTab"),  # Quartz weekdays are 1..7
        (Schedule(CRON, cron="0 0 9 * * 8"), None, "CronTab"),
        (Schedule(CRON, cron="0 0 9 * * FOO"), None, "CronTab"),
        (Schedule(CRON, cron="0 0 30 2 *"), None, "CronTab"),  # 30 February never comes
        (Schedule(CRON, cron="0 0 0 1 1 ? 2020"), None, "CronTab"),  # a year gone by
        (Schedule(NTH, time_of_day=time(8)), None, "DayOfMonth"),
        (Schedule(NTH, day_of_month=0, time_of_day=time(8)), None, "DayOfMonth"),
        (Schedule(NTH, day_of_month=32, time_of_day=time(8)), None, "DayOfMonth"),
        (Schedule(NTH, day_of_month=3), None, "TimeOfDay"),
        (Schedule(LAST), None, "TimeOfDay"),
        (
            Schedule(CRON, cron="0 9 * * *", window=DailyWindow(time(9), time(9))),
            None,
            "WindowEnd",
        ),
        (
            Schedule(CRON, cron="0 3 * * *", window=DailyWindow(time(9), time(17))),
            None,
            "WindowStart",
        ),
        (
            Schedule(LAST, time_of_day=time(20), window=DailyWindow(time(9), time(17))),
            None,
            "WindowStart",
        ),
        (Schedule(CRON, cron="0 9 * * 6,0", skip_non_working=True), None, "Calendar"),
        (
            Schedule(CRON, cron="0 9 * * 1", skip_non_working=True),
            Calendar(weekend=frozenset({1, 7})),
            "Calendar",
        ),
        (
            Schedule(
                CRON, cron="0 9 * * *", valid_from=at("2026-07-01"), valid_to=at("2026-06-01")
            ),
            None,
            "EndAt",
        ),
        (
            Schedule(
                CRON,
                cron="0 9 * * *",
                valid_from=at("2026-07-01 10:00"),
                valid_to=at("2026-07-01 11:00"),
            ),
            None,
            "EndAt",
        ),
        (Schedule(CRON, cron="0 9 * * *", valid_to=at("2026-01-01")), None, "EndAt"),
    ],
)
def test_check_refuses_naming_the_field(
    schedule: Schedule, calendar: Calendar | None, field: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        check(schedule, calendar, now=NOW)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_check_without_now_still_sees_a_schedule_that_can_never_fire() -> None:
    with pytest.raises(ScheduleError, match="CronTab: never fires"):
        check(Schedule(CRON, cron="0 0 31 4 *"))  # 31 April
