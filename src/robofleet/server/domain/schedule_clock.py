"""Wall-clock time in a trigger's zone and back to UTC, with the DST rule triggers use.

A schedule names local wall-clock times ("09:30 in Europe/Berlin"). Twice a year a zone with
daylight saving time has local times that do not exist (clocks go forward) and local times
that happen twice (clocks go back). The rule, the same for every schedule kind:

- a local time that happens twice stands for its FIRST occurrence only, so it fires once;
- a local time that does not exist stands for the first instant after the gap (the moment
  the clocks jumped), so it is not lost; several such times collapse into that one instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=1024)
def zone_of(name: str) -> ZoneInfo:
    """The zone called `name` (ZoneInfo raises for an unknown one)."""
    return ZoneInfo(name)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive time is read as UTC already (the database stores UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock time of an aware instant."""
    return moment.astimezone(zone).replace(tzinfo=None)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive local wall-clock time stands for, by the rule above."""
    first = local.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    # fold=0 is the first occurrence of a repeated time; a round trip that comes back
    # unchanged means the time exists.
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    # In a gap fold=0 reads the time with the offset from before the jump and fold=1 with
    # the offset after it; the jump lies between the two readings.
    return _jump_between(local.replace(tzinfo=zone, fold=1).astimezone(UTC), instant, zone)


def _jump_between(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (before, after] whose offset is the one `after` has."""
    target = after.astimezone(zone).utcoffset()
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    # Offsets change on whole seconds; drop the fraction bisection leaves.
    return high.replace(microsecond=0)
