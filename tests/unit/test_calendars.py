"""Working-day rules of robofleet.calendars: weekends, moved working days, holidays on
weekends, month ends, leap years, and the JSON and iCalendar forms."""

from __future__ import annotations

from datetime import date

import pytest

from robofleet.calendars import Calendar, CalendarError, from_ics, to_ics

PLAIN = Calendar()
RUSSIA_2026 = Calendar.from_dict(
    {
        "holidays": ["2026-01-01", "2026-01-02", "2026-01-07", "2026-02-23", "2026-03-08"],
        "non_working": ["2026-03-09"],
        "working": ["2026-11-07"],
    }
)


def test_default_week_is_monday_to_friday() -> None:
    week = [date(2026, 6, day) for day in range(1, 8)]  # Mon 1 June .. Sun 7 June
    assert [PLAIN.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


def test_dates_override_the_week() -> None:
    assert not RUSSIA_2026.is_working_day(date(2026, 1, 1))  # a Thursday holiday
    assert not RUSSIA_2026.is_working_day(date(2026, 3, 9))  # a Monday off in lieu
    assert RUSSIA_2026.is_working_day(date(2026, 11, 7))  # a working Saturday


def test_holiday_on_a_weekend_is_still_a_day_off() -> None:
    sunday_holiday = RUSSIA_2026  # 2026-03-08 is a Sunday
    assert not sunday_holiday.is_working_day(date(2026, 3, 8))
    assert sunday_holiday.next_working_day(date(2026, 3, 6)) == date(2026, 3, 10)


def test_next_and_previous_working_day_skip_runs_of_days_off() -> None:
    assert RUSSIA_2026.next_working_day(date(2025, 12, 31)) == date(2026, 1, 5)
    assert RUSSIA_2026.previous_working_day(date(2026, 1, 5)) == date(2025, 12, 31)
    assert PLAIN.next_working_day(date(2026, 6, 5)) == date(2026, 6, 8)  # Friday -> Monday


def test_nth_working_day_counts_from_both_ends() -> None:
    assert RUSSIA_2026.nth_working_day(2026, 1, 1) == date(2026, 1, 5)
    assert PLAIN.nth_working_day(2026, 1, -1) == date(2026, 1, 30)  # 31st is a Saturday
    assert PLAIN.nth_working_day(2026, 5, 21) == date(2026, 5, 29)
    with pytest.raises(CalendarError):
        PLAIN.nth_working_day(2026, 5, 22)
    with pytest.raises(CalendarError):
        PLAIN.nth_working_day(2026, 5, 0)


def test_leap_years_and_month_ends() -> None:
    assert PLAIN.nth_working_day(2024, 2, -1) == date(2024, 2, 29)  # leap Thursday
    assert PLAIN.nth_working_day(2023, 2, -1) == date(2023, 2, 28)
    assert PLAIN.nth_working_day(2100, 2, -1) == date(2100, 2, 26)  # 2100 is no leap year
    assert len(PLAIN.working_days_in_month(2024, 2)) == 21
    assert PLAIN.next_working_day(date(2024, 2, 28)) == date(2024, 2, 29)


def test_count_and_add_working_days() -> None:
    assert PLAIN.count_working_days(date(2026, 6, 1), date(2026, 6, 30)) == 22
    assert PLAIN.count_working_days(date(2026, 6, 7), date(2026, 6, 6)) == 0
    assert RUSSIA_2026.count_working_days(date(2026, 1, 1), date(2026, 1, 11)) == 4  # 5, 6, 8, 9
    assert PLAIN.add_working_days(date(2026, 6, 5), 1) == date(2026, 6, 8)
    assert PLAIN.add_working_days(date(2026, 6, 8), -1) == date(2026, 6, 5)
    assert PLAIN.add_working_days(date(2026, 6, 8), 0) == date(2026, 6, 8)


def test_custom_weekend() -> None:
    friday_saturday = Calendar.from_dict({"weekend": [5, 6]})
    assert not friday_saturday.is_working_day(date(2026, 6, 5))  # Friday
    assert friday_saturday.is_working_day(date(2026, 6, 7))  # Sunday


@pytest.mark.parametrize(
    "document",
    [
        '{"weekend": [1,2,3,4,5,6,7]}',
        '{"weekend": [0]}',
        '{"weekend": [true]}',
        '{"holidays": ["2026-13-01"]}',
        '{"holidays": "2026-01-01"}',
        '{"working": ["2026-01-01"], "holidays": ["2026-01-01"]}',
        '{"vacations": []}',
        "[]",
        "{",
    ],
)
def test_bad_documents_are_refused_with_a_reason(document: str) -> None:
    with pytest.raises(CalendarError):
        Calendar.from_json(document)


def test_json_round_trip_and_empty_text() -> None:
    assert Calendar.from_json(RUSSIA_2026.to_json()) == RUSSIA_2026
    assert Calendar.from_json("") == PLAIN


def test_ics_round_trip_keeps_every_kind_of_date() -> None:
    text = to_ics(RUSSIA_2026, "Russia, 2026; official")
    assert (
        text.startswith("BEGIN:VCALENDAR\r\n") and "X-WR-CALNAME:Russia\\, 2026\\; official" in text
    )
    assert from_ics(text) == RUSSIA_2026


def test_ics_from_a_holiday_feed() -> None:
    feed = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261231\n"
        "DTEND;VALUE=DATE:20270103\nSUMMARY:New Year\n break\nEND:VEVENT\n"
        "BEGIN:VEVENT\nDTSTART:20260501T000000Z\nSUMMARY:May Day\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    imported = from_ics(feed)
    assert imported.holidays == {
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 2),
        date(2026, 5, 1),
    }
    with pytest.raises(CalendarError):
        from_ics("hello")
