"""Schedules across both DST changes in three zones: a local time that happens twice fires
once (its first occurrence), a local time in the gap fires when the gap ends.

croniter on its own, given aware times, fires a repeated local time twice (02:30 in Berlin on
25 October 2026 at 00:30 and 01:30 UTC); domain.schedules matches naive wall-clock times and
applies the rule itself, which these tests pin down."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import islice

import pytest

from robofleet.server.domain.schedule_clock import to_utc, zone_of
from robofleet.server.domain.schedules import (
    Schedule,
    ScheduleKind,
    due,
    fire_times,
)

# Changes in 2026: Berlin forward 29 Mar 02:00->03:00, back 25 Oct 03:00->02:00;
# New York forward 8 Mar 02:00->03:00, back 1 Nov 02:00->01:00;
# Sydney back 5 Apr 03:00->02:00, forward 4 Oct 02:00->03:00.


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def first(schedule: Schedule, after: str, n: int) -> list[datetime]:
    return list(islice(fire_times(schedule, at(after)), n))


@pytest.mark.parametrize(
    ("zone", "cron", "after", "expected"),
    [
        # Clocks back: 02:30 happens twice in Berlin; it fires at the first (CEST, +02:00).
        ("Europe/Berlin", "30 2 * * *", "2026-10-24 12:00", ["10-25 00:30", "10-26 01:30"]),
        # Clocks forward: 02:30 does not exist; it fires at 03:00 CEST, when the gap ends.
        ("Europe/Berlin", "30 2 * * *", "2026-03-28 12:00", ["03-29 01:00", "03-30 00:30"]),
        ("America/New_York", "30 1 * * *", "2026-10-31 12:00", ["11-01 05:30", "11-02 06:30"]),
        ("America/New_York", "30 2 * * *", "2026-03-07 12:00", ["03-08 07:00", "03-09 06:30"]),
        ("Australia/Sydney", "30 2 * * *", "2026-04-04 00:00", ["04-04 15:30", "04-05 16:30"]),
        ("Australia/Sydney", "30 2 * * *", "2026-10-03 00:00", ["10-03 16:00", "10-04 15:30"]),
        # Several times in one gap collapse into the one instant the gap ends (with 03:00).
        (
            "Europe/Berlin",
            "*/30 1-3 * * *",
            "2026-03-28 22:00",
            ["03-29 00:00", "03-29 00:30", "03-29 01:00", "03-29 01:30", "03-29 23:00"],
        ),
        # The repeated hour runs once, on its first pass; the next fire is 03:00 CET.
        (
            "Europe/Berlin",
            "*/30 1-3 * * *",
            "2026-10-24 22:00",
            ["10-24 23:00", "10-24 23:30", "10-25 00:00", "10-25 00:30", "10-25 02:00"],
        ),
        # 6 fields (seconds) in New York across the repeated 01:xx hour.
        (
            "America/New_York",
            "0 0 1,2 * * ?",
            "2026-10-31 12:00",
            ["11-01 05:00", "11-01 07:00", "11-02 06:00"],
        ),
    ],
)
def test_cron_across_dst(zone: str, cron: str, after: str, expected: list[str]) -> None:
    schedule = Schedule(ScheduleKind.CRON, zone, cron=cron)
    assert first(schedule, after, len(expected)) == [at(f"2026-{t}") for t in expected]


@pytest.mark.parametrize(
    ("zone", "day", "walls"),
    [
        # The long day (25 hours): each of the 48 half-hour wall times fires once.
        ("Europe/Berlin", "2026-10-25", 48),
        ("America/New_York", "2026-11-01", 48),
        ("Australia/Sydney", "2026-04-05", 48),
        # The short day (23 hours): 02:00 and 02:30 fire with 03:00, 46 fires.
        ("Europe/Berlin", "2026-03-29", 46),
        ("America/New_York", "2026-03-08", 46),
        ("Australia/Sydney", "2026-10-04", 46),
    ],
)
def test_a_dst_day_fires_each_wall_time_once(zone: str, day: str, walls: int) -> None:
    schedule = Schedule(ScheduleKind.CRON, zone, cron="*/30 * * * *")
    local_zone = zone_of(zone)
    start = to_utc(datetime.fromisoformat(day), local_zone)
    end = to_utc(datetime.fromisoformat(day).replace(hour=23, minute=59), local_zone)
    just_before = start - timedelta(microseconds=1)
    fires = [t for t in islice(fire_times(schedule, just_before), 60) if t <= end]
    assert fires[0] == start
    locals_ = [t.astimezone(local_zone).strftime("%H:%M") for t in fires]
    assert len(fires) == walls
    assert len(set(locals_)) == walls  # no local time twice
    assert len(set(fires)) == walls


@pytest.mark.parametrize(
    ("zone", "kind", "day", "at_time", "after", "expected"),
    [
        # The n-th day at a time inside the gap: when the gap ends.
        ("America/New_York", ScheduleKind.NTH_DAY, 8, time(2, 30), "2026-03-01", "03-08 07:00"),
        # The n-th day at a repeated time (Sydney's change on 5 April): its first occurrence.
        ("Australia/Sydney", ScheduleKind.NTH_DAY, 5, time(2, 30), "2026-04-01", "04-04 15:30"),
        ("Europe/Berlin", ScheduleKind.LAST_DAY, None, time(2, 30), "2026-03-01", "03-31 00:30"),
    ],
)
def test_month_days_across_dst(
    zone: str, kind: ScheduleKind, day: int | None, at_time: time, after: str, expected: str
) -> None:
    schedule = Schedule(kind, zone, day_of_month=day, time_of_day=at_time)
    assert first(schedule, f"{after} 00:00", 1) == [at(f"2026-{expected}")]


def test_missed_fires_across_a_dst_change_count_each_time_once() -> None:
    """Down from Saturday to Monday over Berlin's fall-back night: 02:30 was due on Sunday
    once and on Monday once, so one fire, one passed over."""
    schedule = Schedule(ScheduleKind.CRON, "Europe/Berlin", cron="30 2 * * *")
    result = due(
        schedule,
        next_at=at("2026-10-25 00:30"),
        now=at("2026-10-26 08:00"),
        check_missed=True,
    )
    assert result.fire_at == at("2026-10-26 01:30")
    assert result.missed is True
    assert result.skipped == 1
    assert result.next_at == at("2026-10-27 01:30")
