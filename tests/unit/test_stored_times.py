"""Times the asyncpg pool reads and writes (db.stored_times): PostgreSQL's binary form, both
infinities as asyncpg has them, and a time read twice is built once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from robofleet.server.db.stored_times import (
    PG_INFINITY,
    PG_NEGATIVE_INFINITY,
    TIMES_KEPT,
    read_time,
    written_time,
)

TIMES = [
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 12, 5, 17, 31, 31, 406983, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("when", TIMES)
def test_a_time_reads_back_as_it_was_written(when: datetime) -> None:
    back = read_time(written_time(when))
    assert back == when
    assert back.tzinfo is UTC


def test_the_wire_form_counts_microseconds_from_2000_in_utc() -> None:
    assert written_time(datetime(2000, 1, 1, tzinfo=UTC)) == (0,)
    assert written_time(datetime(2000, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == (1_000_005,)
    # Another zone is the same instant.
    plus_two = timezone(timedelta(hours=2))
    assert written_time(datetime(2000, 1, 1, 2, tzinfo=plus_two)) == (0,)
    assert read_time((-1,)) == datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_the_infinities_are_asyncpgs_naive_extremes() -> None:
    assert read_time((PG_INFINITY,)) == datetime.max
    assert read_time((PG_NEGATIVE_INFINITY,)) == datetime.min
    assert written_time(datetime.max) == (PG_INFINITY,)
    assert written_time(datetime.min) == (PG_NEGATIVE_INFINITY,)


def test_a_naive_time_or_a_date_is_local_time_as_asyncpg_takes_it() -> None:
    naive = datetime(2026, 5, 5, 12, 30)
    assert written_time(naive) == written_time(naive.astimezone())
    offset = datetime.now(UTC).astimezone().utcoffset() or timedelta(0)
    midnight = datetime(2026, 5, 5, tzinfo=timezone(offset))
    assert written_time(date(2026, 5, 5)) == written_time(midnight)
    with pytest.raises(TypeError, match="datetime"):
        written_time("2026-05-05")  # type: ignore[arg-type]


def test_a_time_read_again_is_the_same_object_and_what_is_kept_is_bounded() -> None:
    read_time.cache_clear()
    wire = written_time(TIMES[2])
    assert read_time(wire) is read_time((wire[0],))
    for microseconds in range(TIMES_KEPT + 10):
        read_time((microseconds,))
    assert read_time.cache_info().currsize == TIMES_KEPT
