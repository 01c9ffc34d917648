"""The Resources and Storage screens' pure rules: a month of the calendar editor saved into
the calendar's JSON, how a file is previewed, sizes as people read them, Referer paths."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from starlette.requests import Request

from robofleet.calendars import Calendar
from robofleet.server.schemas.resources import CalendarDocument
from robofleet.server.web.pages import back_path
from robofleet.server.web.screens.calendars import edited_calendar
from robofleet.server.web.screens.resources import expired
from robofleet.server.web.screens.storage import human_size, preview_kind

MAY = date(2026, 5, 1)


def _document(**fields: object) -> CalendarDocument:
    base: dict[str, object] = {"weekend": [6, 7], "working": [], "non_working": [], "holidays": []}
    return CalendarDocument.model_validate({**base, **fields})


def test_a_saved_month_lists_only_the_days_that_differ_from_the_week() -> None:
    states = {date(2026, 5, d): "working" for d in range(1, 32)}
    states[date(2026, 5, 2)] = "non_working"  # Saturday, off anyway: not listed
    states[date(2026, 5, 3)] = "holiday"  # Sunday: a holiday is always listed
    states[date(2026, 5, 4)] = "non_working"  # Monday off
    states[date(2026, 5, 10)] = "non_working"  # Sunday: off anyway
    # Saturdays and Sundays left "working" are moved working days.
    saved = edited_calendar(
        _document(),
        MAY,
        [6, 7],
        {
            **states,
            date(2026, 5, 9): "non_working",
            date(2026, 5, 16): "non_working",
            date(2026, 5, 17): "non_working",
            date(2026, 5, 23): "non_working",
            date(2026, 5, 24): "non_working",
            date(2026, 5, 30): "working",
            date(2026, 5, 31): "non_working",
        },
    )
    assert saved == {
        "weekend": [6, 7],
        "working": ["2026-05-30"],
        "non_working": ["2026-05-04"],
        "holidays": ["2026-05-03"],
    }
    calendar = Calendar.from_dict(saved)
    assert calendar.is_working_day(date(2026, 5, 30))
    assert not calendar.is_working_day(date(2026, 5, 4))


def test_other_months_are_kept_and_this_month_replaced() -> None:
    document = _document(
        working=["2026-04-11", "2026-05-09"],
        non_working=["2026-05-05"],
        holidays=["2026-01-01", "2026-05-01"],
    )
    states = {date(2026, 5, d): "working" for d in range(1, 8)}
    saved = edited_calendar(document, MAY, [7], states)
    assert saved == {
        "weekend": [7],
        "working": ["2026-04-11", "2026-05-03"],  # Sunday 3 May, now off every week
        "non_working": [],
        "holidays": ["2026-01-01"],
    }


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("text/plain", "text"),
        ("text/html; charset=utf-8", "text"),
        ("application/json", "text"),
        ("application/vnd.api+json", "text"),
        ("image/png", "image"),
        ("image/svg+xml", "image"),
        ("image/tiff", "none"),
        ("application/pdf", "pdf"),
        ("application/octet-stream", "none"),
        ("application/zip", "none"),
    ],
)
def test_preview_kind(content_type: str, kind: str) -> None:
    assert preview_kind(content_type) == kind


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1.0 KB"),
        (5 * 1024**2, "5.0 MB"),
        (3 * 1024**4, "3072.0 GB"),
    ],
)
def test_human_size(size: int, shown: str) -> None:
    assert human_size(size) == shown


def _request(referer: str | None, host: str = "fleet.example:8080") -> Request:
    headers = [(b"host", host.encode())]
    if referer is not None:
        headers.append((b"referer", referer.encode()))
    return Request({"type": "http", "method": "POST", "path": "/x", "headers": headers})


@pytest.mark.parametrize(
    ("referer", "back"),
    [
        ("http://fleet.example:8080/storage/folders/a?page=2", "/storage/folders/a?page=2"),
        ("/resources", "/resources"),
        ("https://evil.example/phish", "/"),
        ("http://fleet.example:8080//evil.example/x", "/"),
        (None, "/"),
    ],
)
def test_back_path_is_this_site_only(referer: str | None, back: str) -> None:
    assert back_path(_request(referer)) == back


def test_a_password_expires_at_its_time_naive_times_being_utc() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert not expired(None, now)
    assert expired(datetime(2026, 5, 1, 12, 0), now)
    assert not expired(datetime(2026, 5, 1, 12, 1), now)
    assert expired(datetime(2026, 5, 1, 11, 0, tzinfo=UTC), now)
