"""`timestamp with time zone` for the asyncpg pool, as asyncpg's own codec reads and writes it,
but with the times read back kept: asyncpg built a new datetime for every value (about 1 µs
each), and a take of 50 tasks reads six times a task, most of them equal (taken, updated and
leased at one `now`; added together; no deadline). A time read again is the same object,
which is safe as datetimes are immutable.

The wire form is PostgreSQL's binary one (asyncpg's `tuple` format): microseconds since
2000-01-01 UTC, with the largest and smallest int64 for infinity and -infinity, which read as
asyncpg reads them (its naive `datetime.max` and `datetime.min`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PG_INFINITY = 0x7FFF_FFFF_FFFF_FFFF
PG_NEGATIVE_INFINITY = -0x8000_0000_0000_0000
INFINITY = datetime.max
NEGATIVE_INFINITY = datetime.min
_MICROSECOND = timedelta(microseconds=1)
TIMES_KEPT = 4096
"""Distinct times kept, read here or bound and read as SQLite's text (db.base): a few dozen
per request; bounded whatever is read."""


@lru_cache(maxsize=TIMES_KEPT)
def read_time(wire: tuple[int]) -> datetime:
    """The aware UTC datetime of PostgreSQL's binary timestamptz."""
    (microseconds,) = wire
    if microseconds == PG_INFINITY:
        return INFINITY
    if microseconds == PG_NEGATIVE_INFINITY:
        return NEGATIVE_INFINITY
    return PG_EPOCH + timedelta(microseconds=microseconds)


def written_time(value: datetime | date) -> tuple[int]:
    """PostgreSQL's binary timestamptz of `value`: a naive datetime is a local time, and a date
    local midnight, as asyncpg takes them."""
    if isinstance(value, datetime):
        if value.tzinfo is UTC:  # the server's own times: no zone to convert, no infinity
            return ((value - PG_EPOCH) // _MICROSECOND,)
    elif isinstance(value, date):
        # Midnight at the machine's offset now, as asyncpg reads a date.
        offset = datetime.now(UTC).astimezone().utcoffset()
        zone = timezone(offset if offset is not None else timedelta(0))
        value = datetime(value.year, value.month, value.day, tzinfo=zone)
    else:
        raise TypeError(f"expected a datetime.date or datetime.datetime, got {value!r}")
    if value == INFINITY:
        return (PG_INFINITY,)
    if value == NEGATIVE_INFINITY:
        return (PG_NEGATIVE_INFINITY,)
    return ((value.astimezone(UTC) - PG_EPOCH) // _MICROSECOND,)
