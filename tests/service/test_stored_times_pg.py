"""Times on the asyncpg pool (db.stored_times) read and write what asyncpg's own codec does:
the same datetimes from the same stored values, the same stored values from the same
datetimes, arrays and both infinities included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import DateTime, bindparam, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY

from robofleet.server.db.driver_pool import DriverPool, asyncpg_target
from robofleet.server.db.prepared import PreparedStatement
from tests.service.conftest import Service

STORED = [
    "2026-12-05 10:00:00.123456+00",
    "1999-12-31 23:59:59.999999+00",
    "2000-01-01 00:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "infinity",
    "-infinity",
]
GIVEN = [
    datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    datetime(2030, 1, 2, 5, 4, 5, 678901, tzinfo=UTC) - timedelta(hours=2),
    datetime.max,
    datetime.min,
    datetime(2030, 1, 2, 3, 4, 5),  # naive: local time
    date(2030, 1, 2),  # local midnight
]


def _statement() -> Any:
    stored = [
        literal_column(f"'{text}'::timestamptz").label(f"t{n}") for n, text in enumerate(STORED)
    ]
    return select(
        *stored,
        literal_column("ARRAY['2026-01-01 00:00:00+00', 'infinity']::timestamptz[]").label("a"),
        bindparam("p_one", type_=DateTime(timezone=True)),
        bindparam("p_many", type_=ARRAY(DateTime(timezone=True))),
        literal_column("'infinity'::timestamptz")
        .op("=")(bindparam("p_inf", type_=DateTime(timezone=True)))
        .label("same"),
    )


@pytest.mark.parametrize("store_service", ["postgres"], indirect=True)
def test_times_on_the_pool_are_what_asyncpg_reads_and_writes(store_service: Service) -> None:
    engine = store_service.runtime.db.engine
    statement = PreparedStatement(_statement(), engine.dialect)
    arguments = {"p_one": GIVEN[0], "p_many": GIVEN, "p_inf": datetime.max}
    pool = DriverPool(engine, min_size=1, max_size=1)
    dsn, _ = asyncpg_target(engine.url)

    async def read() -> tuple[list[Any], list[Any]]:
        await pool.open()
        try:
            ours = [await pool.run(statement, arguments) for _ in range(2)]
        finally:
            await pool.close()
        # The same statement and parameters on a connection with asyncpg's own codecs.
        plain = await asyncpg.connect(dsn, server_settings={"TimeZone": "UTC"})
        try:
            theirs = await statement.run_async(plain, arguments)
        finally:
            await plain.close()
        return ours, theirs

    ours, theirs = store_service.admin.portal.call(read)
    assert ours[0] == ours[1] == theirs
    (row,) = theirs
    assert row[-1] is True  # datetime.max went out as infinity
    assert row[-2][2:4] == [datetime.max, datetime.min]
