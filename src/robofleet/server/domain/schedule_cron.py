"""Cron expressions for triggers: which layouts we read, and croniter doing the matching.

- 5 fields: Unix cron, `minute hour day-of-month month day-of-week`, weekdays 0-7 (0 and 7
  Sunday).
- 6 or 7 fields: Quartz, as UiPath and Sherpa write it, `second minute hour day-of-month
  month day-of-week [year]`. Weekday NUMBERS follow Quartz too (1 Sunday .. 7 Saturday), so
  an expression copied from UiPath means what it meant there; names (MON..SUN) are the same in
  both layouts. `?` (no specific value) is accepted in the day fields, `L`, `W`, `#` as
  croniter knows them, and Quartz's `NL` (last weekday N of the month).
- `@daily`, `@hourly`... as croniter expands them.

The matching is croniter's, over naive local wall-clock times; the zone and DST are applied by
schedule_clock afterwards, so croniter's own DST handling (which fires a repeated hour twice)
never runs.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from croniter import CroniterBadDateError, croniter

MAX_YEARS = 11
"""How far ahead croniter looks for a match before giving up."""

_QUARTZ_ITEM = re.compile(r"(?P<first>\w+)(?:-(?P<last>\w+))?(?P<step>/\d+)?")
_QUARTZ_NTH = re.compile(r"(?P<day>\w+)#(?P<nth>\d+)")
_QUARTZ_LAST = re.compile(r"(?P<day>\w+)L", re.IGNORECASE)
_RANDOM_OR_HASHED = re.compile(r"[HR](\(.*\))?(/\d+)?", re.IGNORECASE)


class CronError(ValueError):
    """An expression croniter cannot use, or that we refuse; the text says why."""


@dataclass(frozen=True)
class CronShape:
    """An expression as croniter is given it."""

    expression: str
    seconds_first: bool


@lru_cache(maxsize=4096)
def shape(text: str) -> CronShape:
    """The croniter form of `text`; CronError when it is not one we accept. Cached: every
    next_fire asks, and checking builds a croniter."""
    fields = text.split()
    if len(fields) == 1 and fields[0].startswith("@"):
        cron = CronShape(fields[0].lower(), seconds_first=False)
    elif len(fields) == 5:
        cron = CronShape(" ".join(fields), seconds_first=False)
    elif len(fields) in {6, 7}:
        fields[5] = _unix_weekdays(fields[5])
        cron = CronShape(" ".join(fields), seconds_first=True)
    else:
        raise CronError(
            f"has {len(fields)} fields; write 5 (minute hour day month weekday) or 6-7 "
            "(second minute hour day month weekday [year])"
        )
    # Hashed (H) and random (R) fields give other times on every parse: not a schedule.
    if any(_RANDOM_OR_HASHED.fullmatch(field) for field in fields):
        raise CronError("hashed (H) and random (R) fields are not supported")
    try:
        croniter(cron.expression, datetime(2000, 1, 1), second_at_beginning=cron.seconds_first)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise CronError(str(exc) or "not a cron expression") from None
    return cron


def _unix_weekdays(field: str) -> str:
    """A Quartz day-of-week field in croniter's numbering (0 Sunday .. 6 Saturday)."""
    return ",".join(_unix_weekday_item(item) for item in field.split(","))


def _unix_weekday_item(item: str) -> str:
    if item in {"*", "?"} or item.startswith("*"):
        return item
    if item.upper() == "L":  # alone, Quartz's L is the last day of the week: Saturday
        return "6"
    if nth := _QUARTZ_NTH.fullmatch(item):
        return f"{_unix_weekday(nth['day'])}#{nth['nth']}"
    if last := _QUARTZ_LAST.fullmatch(item):
        return f"L{_unix_weekday(last['day'])}"
    if plain := _QUARTZ_ITEM.fullmatch(item):
        days = _unix_weekday(plain["first"])
        if plain["last"]:
            days += f"-{_unix_weekday(plain['last'])}"
        return days + (plain["step"] or "")
    return item  # croniter judges anything else


def _unix_weekday(day: str) -> str:
    if not day.isdigit():
        return day  # a name (MON) means the same day in both layouts
    number = int(day)
    if not 1 <= number <= 7:
        raise CronError(
            f"weekday {number} is out of range: with seconds first (Quartz layout) weekdays "
            "are 1 (SUN) .. 7 (SAT), or names MON..SUN"
        )
    return str(number - 1)


class _Cache(threading.local):
    def __init__(self) -> None:
        self.iterators: dict[CronShape, croniter] = {}


_cache = _Cache()
_CACHE_SIZE = 4096


def _iterator(cron: CronShape) -> croniter:
    # Building a croniter parses the expression (~0.15 ms), ten times the cost of asking it
    # for the next match; keep one per expression, per thread since it holds a cursor.
    found = _cache.iterators.get(cron)
    if found is None:
        if len(_cache.iterators) >= _CACHE_SIZE:
            _cache.iterators.clear()
        found = croniter(
            cron.expression,
            datetime(2000, 1, 1),
            second_at_beginning=cron.seconds_first,
            max_years_between_matches=MAX_YEARS,
        )
        _cache.iterators[cron] = found
    return found


@lru_cache(maxsize=_CACHE_SIZE)
def next_match(cron: CronShape, after: datetime) -> datetime | None:
    """The first naive wall-clock time strictly after naive `after` the expression names,
    or None when there is none within MAX_YEARS.

    Remembered: the triggers due in one pass ask it the same question (one expression such
    as `0 * * * *`, shared by many, and the same due minute), and croniter's answer costs
    more than the rest of a fire's rules."""
    try:
        found: datetime = _iterator(cron).get_next(datetime, start_time=after)
    except CroniterBadDateError:
        return None
    return found
