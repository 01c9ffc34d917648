"""Schedule rules of domain.schedules: cron (5, 6 and 7 fields, Quartz weekdays), last and
n-th (working) day, calendars, daily windows, valid from/to and the preview. DST, missed fires
and check() have their own files."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from itertools import islice, pairwise

import pytest

from robofleet.calendars import Calendar
from robofleet.server.domain.schedules import (
    DailyWindow,
    Schedule,
    ScheduleKind,
    fire_times,
    in_window,
    next_fire,
)

CRON, LAST, NTH, CONT = (
    ScheduleKind.CRON,
    ScheduleKind.LAST_DAY,
    ScheduleKind.NTH_DAY,
    ScheduleKind.CONTINUOUS,
)
FRI_2_JAN = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)  # a Friday, 10:00 UTC
NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def first(
    schedule: Schedule, after: datetime, n: int, calendar: Calendar | None = None
) -> list[datetime]:
    return list(islice(fire_times(schedule, after, calendar), n))


@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        # 5 fields, Unix weekdays (1-5 Monday..Friday).
        ("30 9 * * 1-5", "UTC", FRI_2_JAN, ["2026-01-05 09:30", "2026-01-06 09:30"]),
        ("*/20 10 * * *", "UTC", FRI_2_JAN, ["2026-01-02 10:20", "2026-01-02 10:40"]),
        ("@daily", "UTC", FRI_2_JAN, ["2026-01-03 00:00", "2026-01-04 00:00"]),
        # 6 fields: seconds first (Quartz), `?` in a day field.
        ("15 30 9 * * ?", "UTC", FRI_2_JAN, ["2026-01-03 09:30:15", "2026-01-04 09:30:15"]),
        # Quartz weekdays: 2-6 is Monday..Friday, 1 is Sunday, 7 Saturday.
        ("0 0 9 ? * 2-6", "UTC", FRI_2_JAN, ["2026-01-05 09:00", "2026-01-06 09:00"]),
        ("0 0 9 ? * 1", "UTC", FRI_2_JAN, ["2026-01-04 09:00", "2026-01-11 09:00"]),
        ("0 0 9 ? * 7", "UTC", FRI_2_JAN, ["2026-01-03 09:00", "2026-01-10 09:00"]),
        ("0 0 9 ? * MON", "UTC", FRI_2_JAN, ["2026-01-05 09:00", "2026-01-12 09:00"]),
        ("0 0 9 ? * 2#1", "UTC", FRI_2_JAN, ["2026-01-05 09:00", "2026-02-02 09:00"]),
        ("0 0 9 ? * 6L", "UTC", FRI_2_JAN, ["2026-01-30 09:00", "2026-02-27 09:00"]),
        ("0 0 9 L * ?", "UTC", FRI_2_JAN, ["2026-01-31 09:00", "2026-02-28 09:00"]),
        # 7 fields: a year at the end.
        ("0 0 12 ? * MON 2026", "UTC", FRI_2_JAN, ["2026-01-05 12:00", "2026-01-12 12:00"]),
        ("0 0 12 31 12 ? 2026-2027", "UTC", FRI_2_JAN, ["2026-12-31 12:00", "2027-12-31 12:00"]),
        # The zone: 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
        ("0 9 1 * *", "Europe/Berlin", NEW_YEAR, ["2026-01-01 08:00", "2026-02-01 08:00"]),
        ("0 9 1 7 *", "Europe/Berlin", NEW_YEAR, ["2026-07-01 07:00", "2027-07-01 07:00"]),
        ("0 9 * * *", "America/New_York", FRI_2_JAN, ["2026-01-02 14:00", "2026-01-03 14:00"]),
        ("0 9 * * *", "Asia/Kolkata", NEW_YEAR, ["2026-01-01 03:30", "2026-01-02 03:30"]),
    ],
)
def test_cron_fire_times(cron: str, zone: str, after: datetime, expected: list[str]) -> None:
    schedule = Schedule(CRON, zone, cron=cron)
    assert first(schedule, after, len(expected)) == [at(text) for text in expected]


def test_next_fire_is_strictly_after() -> None:
    schedule = Schedule(CRON, cron="0 9 * * *")
    assert next_fire(schedule, at("2026-01-02 09:00")) == at("2026-01-03 09:00")
    assert next_fire(schedule, at("2026-01-02 08:59:59.999")) == at("2026-01-02 09:00")


def test_a_fixed_year_ends_the_preview() -> None:
    schedule = Schedule(CRON, cron="0 0 12 1 * ? 2026")
    assert len(list(fire_times(schedule, NEW_YEAR))) == 12
    assert list(fire_times(Schedule(CRON, cron="0 0 0 1 1 ? 2020"), NEW_YEAR)) == []


def test_fire_times_ends_for_a_schedule_that_never_fires() -> None:
    assert list(fire_times(Schedule(CRON, cron="0 0 30 2 *"), NEW_YEAR)) == []


# --- last and n-th day ---------------------------------------------------------------------

WITH_MOVED_SATURDAY = Calendar.from_dict(
    # 2026-02-28 is a Saturday made a working day; 2026-03-31 (Tuesday) a holiday.
    {"working": ["2026-02-28"], "holidays": ["2026-03-31"]}
)
LONG_NEW_YEAR = Calendar.from_dict(
    {"holidays": [f"2026-01-0{day}" for day in range(1, 9)]}  # 1..8 January off
)
ALL_OF_MAY_OFF = Calendar.from_dict({"holidays": [f"2026-05-{d:02d}" for d in range(1, 32)]})


@pytest.mark.parametrize(
    ("schedule", "calendar", "expected"),
    [
        (Schedule(LAST, time_of_day=time(18)), None, ["01-31", "02-28", "03-31", "04-30"]),
        # A day number the month lacks means the month's last day.
        (
            Schedule(NTH, day_of_month=31, time_of_day=time(18)),
            None,
            ["01-31", "02-28", "03-31", "04-30"],
        ),
        (Schedule(NTH, day_of_month=15, time_of_day=time(18)), None, ["01-15", "02-15"]),
        # Working-day forms without a calendar: Monday to Friday. 31 Jan 2026 is a Saturday.
        (
            Schedule(LAST, time_of_day=time(18), working_days=True),
            None,
            ["01-30", "02-27", "03-31"],
        ),
        (
            Schedule(NTH, day_of_month=3, time_of_day=time(18), working_days=True),
            None,
            ["01-05", "02-04", "03-04"],
        ),
        # More working days than the month has: its last working day (February has 20).
        (
            Schedule(NTH, day_of_month=23, time_of_day=time(18), working_days=True),
            None,
            ["01-30", "02-27", "03-31"],
        ),
        # A calendar: a moved working Saturday counts, a holiday does not.
        (
            Schedule(LAST, time_of_day=time(18), working_days=True),
            WITH_MOVED_SATURDAY,
            ["01-30", "02-28", "03-30"],
        ),
        (
            Schedule(NTH, day_of_month=1, time_of_day=time(18), working_days=True),
            LONG_NEW_YEAR,
            ["01-09", "02-02"],
        ),
        # A month without a working day has no fire.
        (
            Schedule(LAST, time_of_day=time(18), working_days=True),
            ALL_OF_MAY_OFF,
            ["01-30", "02-27", "03-31", "04-30", "06-30"],
        ),
    ],
)
def test_month_days(schedule: Schedule, calendar: Calendar | None, expected: list[str]) -> None:
    assert first(schedule, NEW_YEAR, len(expected), calendar) == [
        at(f"2026-{day} 18:00") for day in expected
    ]


def test_month_day_in_a_zone_and_a_leap_year() -> None:
    schedule = Schedule(LAST, "Europe/Berlin", time_of_day=time(23, 30))
    assert first(schedule, at("2028-01-31 22:30"), 2) == [
        at("2028-02-29 22:30"),  # 23:30 CET on the leap day
        at("2028-03-31 21:30"),  # 23:30 CEST
    ]


def test_time_of_day_already_past_this_month_moves_to_the_next() -> None:
    schedule = Schedule(NTH, day_of_month=2, time_of_day=time(9))
    assert next_fire(schedule, at("2026-01-02 09:00")) == at("2026-02-02 09:00")
    assert next_fire(schedule, at("2026-01-02 08:59")) == at("2026-01-02 09:00")


# --- except non-working days -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "calendar", "after", "expected"),
    [
        # Daily at 09:00 except weekends (no calendar: Saturday and Sunday off).
        (
            Schedule(CRON, cron="0 9 * * *", skip_non_working=True),
            None,
            FRI_2_JAN,
            ["2026-01-05 09:00", "2026-01-06 09:00"],
        ),
        # A moved working Saturday fires; a holiday Tuesday does not.
        (
            Schedule(CRON, cron="0 9 * * *", skip_non_working=True),
            WITH_MOVED_SATURDAY,
            at("2026-02-27 10:00"),
            ["2026-02-28 09:00", "2026-03-02 09:00"],
        ),
        (
            Schedule(CRON, cron="0 9 * * *", skip_non_working=True),
            WITH_MOVED_SATURDAY,
            at("2026-03-30 10:00"),
            ["2026-04-01 09:00"],
        ),
        # The plain last day on a weekend is skipped, not moved (31 Jan and 28 Feb 2026 are
        # Saturdays).
        (
            Schedule(LAST, time_of_day=time(18), skip_non_working=True),
            None,
            NEW_YEAR,
            ["2026-03-31 18:00", "2026-04-30 18:00"],
        ),
        # The day is the trigger's local day: midnight Monday in Berlin is Sunday 23:00 UTC,
        # midnight Saturday (Friday 23:00 UTC) does not fire.
        (
            Schedule(CRON, "Europe/Berlin", cron="0 0 * * *", skip_non_working=True),
            None,
            at("2026-01-02 12:00"),
            ["2026-01-04 23:00", "2026-01-05 23:00"],
        ),
    ],
)
def test_except_non_working_days(
    schedule: Schedule, calendar: Calendar | None, after: datetime, expected: list[str]
) -> None:
    assert first(schedule, after, len(expected), calendar) == [at(text) for text in expected]


# --- daily window ----------------------------------------------------------------------------

NINE_TO_TEN = DailyWindow(time(9), time(10))
TEN_PM_TO_TWO = DailyWindow(time(22), time(2))


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        (
            Schedule(CRON, cron="*/30 * * * *", window=NINE_TO_TEN),
            FRI_2_JAN,
            ["2026-01-03 09:00", "2026-01-03 09:30", "2026-01-04 09:00"],
        ),
        # Wrapping past midnight: 22:00 .. 02:00, the end not included.
        (
            Schedule(CRON, cron="0 * * * *", window=TEN_PM_TO_TWO),
            FRI_2_JAN,
            [
                "2026-01-02 22:00",
                "2026-01-02 23:00",
                "2026-01-03 00:00",
                "2026-01-03 01:00",
                "2026-01-03 22:00",
            ],
        ),
        # The window is local time: 09:00-10:00 in New York is 14:00-15:00 UTC in winter.
        (
            Schedule(CRON, "America/New_York", cron="*/30 * * * *", window=NINE_TO_TEN),
            FRI_2_JAN,
            ["2026-01-02 14:00", "2026-01-02 14:30", "2026-01-03 14:00"],
        ),
        # With non-working days: a fire after midnight belongs to that (Saturday) date.
        (
            Schedule(CRON, cron="0 * * * *", window=TEN_PM_TO_TWO, skip_non_working=True),
            FRI_2_JAN,
            ["2026-01-02 22:00", "2026-01-02 23:00", "2026-01-05 00:00", "2026-01-05 01:00"],
        ),
    ],
)
def test_window_limits_cron(schedule: Schedule, after: datetime, expected: list[str]) -> None:
    assert first(schedule, after, len(expected)) == [at(text) for text in expected]


@pytest.mark.parametrize(
    ("window", "moment", "zone", "inside"),
    [
        (None, "2026-01-02 03:00", "UTC", True),
        (NINE_TO_TEN, "2026-01-02 09:00", "UTC", True),
        (NINE_TO_TEN, "2026-01-02 09:59:59", "UTC", True),
        (NINE_TO_TEN, "2026-01-02 10:00", "UTC", False),
        (NINE_TO_TEN, "2026-01-02 08:59:59", "UTC", False),
        (TEN_PM_TO_TWO, "2026-01-02 23:30", "UTC", True),
        (TEN_PM_TO_TWO, "2026-01-02 01:59", "UTC", True),
        (TEN_PM_TO_TWO, "2026-01-02 02:00", "UTC", False),
        (TEN_PM_TO_TWO, "2026-01-02 21:59", "UTC", False),
        (NINE_TO_TEN, "2026-01-02 08:30", "Europe/Berlin", True),  # 09:30 CET
        (NINE_TO_TEN, "2026-07-02 08:30", "Europe/Berlin", False),  # 10:30 CEST
    ],
)
def test_in_window(window: DailyWindow | None, moment: str, zone: str, inside: bool) -> None:
    assert in_window(window, at(moment), zone) is inside


# --- valid from / to -------------------------------------------------------------------------


def test_valid_from_and_to_bound_the_fires() -> None:
    schedule = Schedule(
        CRON,
        cron="0 9 * * *",
        valid_from=at("2026-01-05 09:00"),  # exactly a fire time: it fires
        valid_to=at("2026-01-08 09:00"),  # exactly a fire time: it fires
    )
    assert list(fire_times(schedule, NEW_YEAR)) == [
        at(f"2026-01-0{day} 09:00") for day in (5, 6, 7, 8)
    ]
    assert next_fire(schedule, at("2026-01-08 09:00")) is None


def test_valid_from_with_month_days() -> None:
    schedule = Schedule(LAST, time_of_day=time(18), valid_from=at("2026-02-01 00:00"))
    assert next_fire(schedule, NEW_YEAR) == at("2026-02-28 18:00")


# --- continuous -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        (Schedule(CONT), "2026-01-03 12:00", "2026-01-03 12:00"),  # it runs now
        (Schedule(CONT, skip_non_working=True), "2026-01-03 12:00", "2026-01-05 00:00"),
        (Schedule(CONT, window=NINE_TO_TEN), "2026-01-03 12:00", "2026-01-04 09:00"),
        (Schedule(CONT, window=NINE_TO_TEN), "2026-01-03 09:10", "2026-01-03 09:10"),
        (
            Schedule(CONT, "Europe/Berlin", window=TEN_PM_TO_TWO, skip_non_working=True),
            "2026-01-03 12:00",  # Saturday: Monday 00:00 in Berlin, inside the window
            "2026-01-04 23:00",
        ),
        (Schedule(CONT, valid_from=at("2026-02-01 00:00")), "2026-01-03 12:00", "2026-02-01 00:00"),
        (Schedule(CONT, valid_to=at("2026-01-01 00:00")), "2026-01-03 12:00", None),
    ],
)
def test_continuous_runs_whenever_it_may(
    schedule: Schedule, after: str, expected: str | None
) -> None:
    assert next_fire(schedule, at(after)) == (None if expected is None else at(expected))


def test_continuous_preview_is_its_first_instant() -> None:
    schedule = Schedule(CONT, window=NINE_TO_TEN)
    assert list(fire_times(schedule, at("2026-01-03 12:00"))) == [at("2026-01-04 09:00")]


def test_naive_times_are_read_as_utc() -> None:
    schedule = Schedule(CRON, cron="0 9 * * *")
    assert next_fire(schedule, datetime(2026, 1, 2, 10)) == at("2026-01-03 09:00")


# --- properties over random instants ------------------------------------------------------------

PROPERTY_SCHEDULES = [
    Schedule(CRON, "Europe/Berlin", cron="*/7 */3 * * *"),
    Schedule(CRON, "America/New_York", cron="30 1,2 * * 0,1"),
    Schedule(CRON, "Australia/Sydney", cron="0 30 1,2,23 ? * 2-6", window=TEN_PM_TO_TWO),
    Schedule(CRON, "Europe/Berlin", cron="15 2 * * *", skip_non_working=True),
    Schedule(NTH, "America/New_York", day_of_month=8, time_of_day=time(2, 30)),
    Schedule(LAST, "Australia/Sydney", time_of_day=time(2, 15), working_days=True),
]


@pytest.mark.parametrize("schedule", PROPERTY_SCHEDULES)
def test_next_fire_is_the_first_fire_after(schedule: Schedule) -> None:
    """For random instants x (seeded, spread over DST changes): next_fire(x) > x, it is a
    fire time itself, and no fire lies between (asking from halfway gives the same)."""
    rng = random.Random(11)
    start = at("2026-01-01 00:00")
    for _ in range(150):
        x = start + timedelta(seconds=rng.randrange(0, 730 * 86400))
        fire = next_fire(schedule, x)
        assert fire is not None
        assert fire > x
        assert next_fire(schedule, fire - timedelta(microseconds=1)) == fire
        assert next_fire(schedule, x + (fire - x) / 2) == fire
        assert fire.tzinfo is UTC


@pytest.mark.parametrize("schedule", PROPERTY_SCHEDULES)
def test_preview_strictly_increases(schedule: Schedule) -> None:
    times = first(schedule, at("2026-01-01 00:00"), 200)
    assert all(earlier < later for earlier, later in pairwise(times))
