"""Working-day calendars: the pure rules the server, the SDK and triggers share.

Standard library only (the agent copies it into a job's environment beside the SDK).

A calendar is a weekly pattern of days off (the weekend, Saturday and Sunday unless told
otherwise) corrected by dates: `working` dates are working days even in a weekend (a moved
working Saturday), `non_working` and `holidays` dates are days off. Its JSON form, as a
Type 3 resource's `Text` holds it:

    {"weekend": [6, 7], "working": ["2026-05-09"], "non_working": ["2026-05-04"],
     "holidays": ["2026-01-01", "2026-01-02"]}

Weekdays are ISO numbers (1 Monday .. 7 Sunday); every key may be left out.
Import and export as iCalendar (`.ics`) use all-day events, one per date, whose CATEGORIES
say what the day is (HOLIDAY, NON-WORKING, WORKING); an event without one of these is a
holiday, as in the public-holiday feeds people import.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

DEFAULT_WEEKEND = frozenset({6, 7})
KEYS = ("weekend", "working", "non_working", "holidays")
MAX_DATES = 20_000
"""Dates one calendar may list (about 50 years of every day off)."""


class CalendarError(ValueError):
    """A calendar document that cannot be read; the message says where and why."""


def _dates(value: Any, key: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise CalendarError(f"'{key}' must be a list of dates (YYYY-MM-DD)")
    days: set[date] = set()
    for item in value:
        if not isinstance(item, str):
            raise CalendarError(f"'{key}' holds {item!r}, not a date (YYYY-MM-DD)")
        try:
            days.add(date.fromisoformat(item.strip()))
        except ValueError:
            raise CalendarError(f"'{key}' holds {item!r}, not a date (YYYY-MM-DD)") from None
    return frozenset(days)


def _weekdays(value: Any) -> frozenset[int]:
    if not isinstance(value, list) or not all(
        isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 7 for day in value
    ):
        raise CalendarError("'weekend' must be a list of ISO weekdays, 1 (Monday) .. 7 (Sunday)")
    if len(set(value)) == 7:
        raise CalendarError("'weekend' cannot hold all seven weekdays: no day would be working")
    return frozenset(value)


@dataclass(frozen=True)
class Calendar:
    weekend: frozenset[int] = DEFAULT_WEEKEND
    working: frozenset[date] = field(default_factory=frozenset)
    non_working: frozenset[date] = field(default_factory=frozenset)
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        both = self.working & (self.non_working | self.holidays)
        if both:
            first = min(both).isoformat()
            raise CalendarError(f"{first} is listed both as working and as a day off")
        if len(self.working) + len(self.non_working) + len(self.holidays) > MAX_DATES:
            raise CalendarError(f"a calendar lists at most {MAX_DATES} dates")

    # --- reading and writing -------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calendar:
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise CalendarError(f"unknown key '{unknown[0]}'; a calendar has {', '.join(KEYS)}")
        weekend = _weekdays(data["weekend"]) if "weekend" in data else DEFAULT_WEEKEND
        return cls(
            weekend=weekend,
            working=_dates(data.get("working", []), "working"),
            non_working=_dates(data.get("non_working", []), "non_working"),
            holidays=_dates(data.get("holidays", []), "holidays"),
        )

    @classmethod
    def from_json(cls, text: str) -> Calendar:
        """The calendar of a JSON document; empty text is the default Monday-Friday week."""
        if not text.strip():
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CalendarError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(data, dict):
            raise CalendarError("a calendar is a JSON object")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weekend": sorted(self.weekend),
            "working": [d.isoformat() for d in sorted(self.working)],
            "non_working": [d.isoformat() for d in sorted(self.non_working)],
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    # --- working days --------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day in self.working:
            return True
        if day in self.holidays or day in self.non_working:
            return False
        return day.isoweekday() not in self.weekend

    def _search_limit(self) -> int:
        # Weekends leave a working day in every week, so days off in a row are bounded by
        # a week plus every listed day off.
        return 8 + len(self.non_working) + len(self.holidays)

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        return self._step(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day before `day`."""
        return self._step(day, -1)

    def _step(self, day: date, direction: int) -> date:
        current = day
        for _ in range(self._search_limit()):
            try:
                current = current + timedelta(days=direction)
            except OverflowError:
                break
            if self.is_working_day(current):
                return current
        raise CalendarError(f"no working day near {day.isoformat()} within the date range")

    def working_days_in_month(self, year: int, month: int) -> list[date]:
        last = _stdlib_calendar.monthrange(year, month)[1]
        days = (date(year, month, number) for number in range(1, last + 1))
        return [day for day in days if self.is_working_day(day)]

    def nth_working_day(self, year: int, month: int, n: int) -> date:
        """The n-th working day of a month (1 the first); negative n counts from the end
        (-1 the last). ValueError if the month has fewer working days."""
        days = self.working_days_in_month(year, month)
        if n == 0 or abs(n) > len(days):
            raise CalendarError(
                f"{year}-{month:02d} has {len(days)} working days; there is no number {n}"
            )
        return days[n - 1] if n > 0 else days[n]

    def count_working_days(self, start: date, end: date) -> int:
        """Working days from `start` to `end`, both included (0 if end is before start)."""
        total = 0
        day = start
        while day <= end:
            total += self.is_working_day(day)
            if day == date.max:
                break
            day += timedelta(days=1)
        return total

    def add_working_days(self, day: date, count: int) -> date:
        """The working day `count` working days after `day` (before it if negative)."""
        direction = 1 if count >= 0 else -1
        for _ in range(abs(count)):
            day = self._step(day, direction)
        return day


# --- iCalendar -----------------------------------------------------------------------------

_CATEGORY_OF = {"holidays": "HOLIDAY", "non_working": "NON-WORKING", "working": "WORKING"}
_SUMMARY_OF = {"holidays": "Holiday", "non_working": "Non-working day", "working": "Working day"}
_KEY_OF = {category: key for key, category in _CATEGORY_OF.items()}


def to_ics(cal: Calendar, name: str) -> str:
    """The calendar's dates as an iCalendar document (RFC 5545), one all-day event each.
    The weekly weekend is not an event; it travels in the JSON form."""
    safe_name = _escape(name)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Robofleet//Resource calendar//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{safe_name}",
    ]
    for key in ("holidays", "non_working", "working"):
        for day in sorted(getattr(cal, key)):
            stamp = day.strftime("%Y%m%d")
            lines += [
                "BEGIN:VEVENT",
                f"UID:{stamp}-{key}@robofleet",
                f"DTSTAMP:{stamp}T000000Z",
                f"DTSTART;VALUE=DATE:{stamp}",
                f"DTEND;VALUE=DATE:{(day + timedelta(days=1)).strftime('%Y%m%d')}",
                f"SUMMARY:{_SUMMARY_OF[key]}",
                f"CATEGORIES:{_CATEGORY_OF[key]}",
                "TRANSP:TRANSPARENT",
                "END:VEVENT",
            ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _unfolded(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in {" ", "\t"} and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


def _ics_date(value: str, line: str) -> date:
    digits = value.strip()[:8]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise CalendarError(f"'{line[:80]}' holds no date (YYYYMMDD)") from None


def from_ics(text: str, *, weekend: Iterable[int] = DEFAULT_WEEKEND) -> Calendar:
    """A calendar from an iCalendar document's all-day events (see the module's doc)."""
    found: dict[str, set[date]] = {key: set() for key in _CATEGORY_OF}
    event: dict[str, str] | None = None
    lines = _unfolded(text)
    if not lines or lines[0].strip().upper() != "BEGIN:VCALENDAR":
        raise CalendarError("not an iCalendar document (it must start with BEGIN:VCALENDAR)")
    for line in lines:
        name, _, value = line.partition(":")
        prop = name.split(";", 1)[0].strip().upper()
        if prop == "BEGIN" and value.strip().upper() == "VEVENT":
            event = {}
        elif prop == "END" and value.strip().upper() == "VEVENT" and event is not None:
            _add_event(event, found)
            event = None
        elif event is not None and prop in {"DTSTART", "DTEND", "CATEGORIES"}:
            event[prop] = value
            event[f"{prop}-line"] = line
    days = sum(len(v) for v in found.values())
    if days > MAX_DATES:
        raise CalendarError(f"a calendar lists at most {MAX_DATES} dates; this one has {days}")
    found["working"] -= found["holidays"] | found["non_working"]
    return Calendar(
        weekend=frozenset(weekend),
        working=frozenset(found["working"]),
        non_working=frozenset(found["non_working"]),
        holidays=frozenset(found["holidays"]),
    )


def _add_event(event: Mapping[str, str], found: dict[str, set[date]]) -> None:
    if "DTSTART" not in event:
        raise CalendarError("an event (VEVENT) has no DTSTART")
    start = _ics_date(event["DTSTART"], event["DTSTART-line"])
    end = _ics_date(event["DTEND"], event["DTEND-line"]) if "DTEND" in event else start
    categories = {c.strip().upper() for c in event.get("CATEGORIES", "").split(",")}
    key = next((_KEY_OF[c] for c in categories if c in _KEY_OF), "holidays")
    if (end - start).days > MAX_DATES:
        raise CalendarError(f"an event spans more than {MAX_DATES} days")
    day = start
    found[key].add(day)
    while day + timedelta(days=1) < end:  # DTEND is exclusive for all-day events
        day += timedelta(days=1)
        found[key].add(day)
