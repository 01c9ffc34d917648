"""The text a time is stored as on SQLite (db.base.sqlite_timestamp_text): what SQLAlchemy's
own SQLite DATETIME stores for the same instant in UTC, whatever zone it was given in, and
the same again when it is answered from the kept texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import sqlite

from robofleet.server.db.base import sqlite_time, sqlite_timestamp_text


def _expected(value: datetime) -> str:
    """What SQLAlchemy's SQLite DATETIME binds for the instant as naive UTC."""
    bind = sqlite.DATETIME().bind_processor(sqlite.dialect())  # type: ignore[no-untyped-call]
    assert bind is not None
    text = bind(value.astimezone(UTC).replace(tzinfo=None))
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 5, 19, 30, 1, 123456, tzinfo=UTC),
        datetime(2026, 12, 5, 19, 30, 1, tzinfo=UTC),  # no fraction: still six digits
        datetime(2026, 12, 5, 21, 30, 1, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_a_time_is_stored_as_sqlalchemy_stores_it_in_utc(value: datetime) -> None:
    assert sqlite_timestamp_text(value) == _expected(value)
    assert sqlite_timestamp_text(value) == _expected(value)  # answered from the kept texts


def test_times_equal_to_python_but_a_different_instant_keep_their_own_text() -> None:
    # 01:30 happens twice in New York on 1 November 2026; Python calls the two equal.
    zone = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=zone)
    second = first.replace(fold=1)
    assert first == second
    texts = [sqlite_timestamp_text(first), sqlite_timestamp_text(second)]
    assert texts == ["2026-11-01 05:30:00.000000", "2026-11-01 06:30:00.000000"]


def test_a_naive_time_and_nothing() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_timestamp_text(datetime(2026, 12, 5, 12, 0))
    assert sqlite_timestamp_text(None) is None


def test_a_stored_text_reads_back_as_the_instant_and_as_sqlalchemy_reads_other_forms() -> None:
    value = datetime(2026, 12, 5, 21, 30, 1, 5, tzinfo=timezone(timedelta(hours=2)))
    text = sqlite_timestamp_text(value)
    for _ in range(2):  # parsed, then answered from the kept times
        read = sqlite_time(text)
        assert read == value
        assert read is not None and read.tzinfo is UTC
    # A date alone, as SQLAlchemy's own SQLite DATETIME reads it: midnight, here in UTC.
    assert sqlite_time("2026-12-05") == datetime(2026, 12, 5, tzinfo=UTC)
    assert sqlite_time(None) is None
