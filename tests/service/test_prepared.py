"""A PreparedStatement (db.prepared) reads and writes exactly what the same Core statement run
through SQLAlchemy does, on both stores: the same rows, the same types (UTC-aware timestamps,
JSON, booleans), the same stored values (SQLite's text timestamps, JSON `null`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    String,
    bindparam,
    create_engine,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError

from robofleet.server.db.driver_pool import DriverPool, StatementRefused
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from tests.service.conftest import Service


def _add_tasks(service: Service, queue: str, names: list[str]) -> None:
    response = service.admin.post("/api/queue/create", json={"Name": queue})
    assert response.status_code == 200, response.text
    for name in names:
        response = service.admin.post(
            "/api/task/create",
            json={"Queue": queue, "Name": name, "Parameters": {"n": name, "deep": [1, None]}},
        )
        assert response.status_code == 200, response.text


def _by_names() -> Any:
    return (
        select(*TASKS.c)
        .where(TASKS.c.name.in_(bindparam("p_names", expanding=True)))
        .order_by(TASKS.c.id)
    )


def _core_rows(service: Service, names: list[str]) -> list[tuple[Any, ...]]:
    with service.runtime.db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(_by_names(), {"p_names": names})]


def test_a_prepared_select_reads_what_sqlalchemy_reads(store_service: Service) -> None:
    names = ["prep-a", "prep-b", "prep-c"]
    _add_tasks(store_service, "prepared-read", names)
    engine = store_service.runtime.db.engine
    statement = PreparedStatement(_by_names(), engine.dialect)
    expected = _core_rows(store_service, names)
    assert len(expected) == 3
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        # Two lengths of the expanding list: each rendered on first use.
        assert statement.run(raw, {"p_names": names}) == expected
        assert statement.run(raw, {"p_names": names[:1]}) == expected[:1]
    created_at = expected[0][TASKS.c.keys().index("created_at")]
    assert isinstance(created_at, datetime) and created_at.tzinfo is not None


def test_a_prepared_update_stores_what_sqlalchemy_stores(store_service: Service) -> None:
    _add_tasks(store_service, "prepared-write", ["prep-x", "prep-y"])
    engine = store_service.runtime.db.engine
    statement = update(TASKS).where(TASKS.c.name == bindparam("p_name"))
    values = {
        "comment": bindparam("p_comment"),
        "output": bindparam("p_output", type_=TASKS.c.output.type),
        "postponed_until": bindparam("p_when", type_=TASKS.c.postponed_until.type),
    }
    when = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    arguments = {"p_comment": "c", "p_output": None, "p_when": when}
    prepared = PreparedStatement(statement.values(**values), engine.dialect)
    with engine.begin() as connection:
        connection.execute(statement.values(**values), {**arguments, "p_name": "prep-x"})
        assert (
            prepared.run_no_rows(
                connection.connection.driver_connection, {**arguments, "p_name": "prep-y"}
            )
            == 1
        )
    columns = "comment, output IS NULL, postponed_until"
    with engine.connect() as connection:
        stored = connection.exec_driver_sql(
            f"SELECT {columns} FROM tasks WHERE name IN ('prep-x', 'prep-y') ORDER BY name"
        ).all()
    # The raw stored values are the same (JSON null, not SQL NULL; the same timestamp text).
    assert stored[0] == stored[1]
    assert stored[0][0] == "c" and stored[0][1] in (False, 0)


def test_a_literal_list_is_part_of_the_prepared_statement(store_service: Service) -> None:
    names = ["prep-lit-a", "prep-lit-b"]
    _add_tasks(store_service, "prepared-literal", names)
    engine = store_service.runtime.db.engine
    statement = select(TASKS.c.name).where(
        TASKS.c.name.in_(bindparam("p_names", expanding=True)), TASKS.c.status.in_([0, 1])
    )
    prepared = PreparedStatement(statement.order_by(TASKS.c.id), engine.dialect)
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert prepared.run(raw, {"p_names": names}) == [(name,) for name in names]
        assert prepared.run(raw, {"p_names": ["prep-lit-b"]}) == [("prep-lit-b",)]
        only_literal = PreparedStatement(
            select(TASKS.c.name).where(TASKS.c.name == "prep-lit-a", TASKS.c.status.in_([0])),
            engine.dialect,
        )
        assert only_literal.run(raw, {}) == [("prep-lit-a",)]


@pytest.mark.parametrize("store_service", ["postgres"], indirect=True)
def test_run_async_on_the_driver_pool_reads_what_sqlalchemy_reads(store_service: Service) -> None:
    """Every column of a task (times, JSON, GUIDs, booleans), read on asyncpg through the
    pool: kept prepared (past the five runs after which PostgreSQL may plan it generically)
    and prepared afresh on each run."""
    engine = store_service.runtime.db.engine
    names = ["prep-async"]
    _add_tasks(store_service, "prepared-async", names)
    kept = PreparedStatement(_by_names(), engine.dialect)
    afresh = PreparedStatement(_by_names(), engine.dialect, server_prepared=False)
    expected = _core_rows(store_service, names)
    pool = DriverPool(engine, min_size=1, max_size=1)

    async def read() -> list[list[tuple[Any, ...]]]:
        await pool.open()
        try:
            return [
                await pool.run(statement, {"p_names": names})
                for statement in (kept, afresh)
                for _ in range(7)
            ]
        finally:
            await pool.close()

    for rows in store_service.admin.portal.call(read):
        assert rows == expected


@pytest.mark.parametrize("store_service", ["postgres"], indirect=True)
def test_statements_of_every_shape_alternate_on_a_pooled_connections_cursor(
    store_service: Service,
) -> None:
    """The driver pool keeps one cursor per connection: a read, an update that returns no
    row, a read of other columns and an error between them leave each answer as its own
    (with one connection, every statement runs on the same cursor, past the prepare
    threshold)."""
    names = ["prep-pool-a", "prep-pool-b"]
    _add_tasks(store_service, "prepared-pool", names)
    engine = store_service.runtime.db.engine
    rows = PreparedStatement(_by_names(), engine.dialect)
    expected = _core_rows(store_service, names)
    comment = PreparedStatement(
        update(TASKS)
        .where(TASKS.c.name == bindparam("p_name"))
        .values(comment=bindparam("p_comment")),
        engine.dialect,
    )
    comments = PreparedStatement(
        select(TASKS.c.name, TASKS.c.comment)
        .where(TASKS.c.name.in_(bindparam("p_names", expanding=True)))
        .order_by(TASKS.c.id),
        engine.dialect,
    )
    broken = PreparedStatement(
        select(TASKS.c.id).where(TASKS.c.id == bindparam("p_id")), engine.dialect
    )
    pool = DriverPool(engine, min_size=1, max_size=1)

    async def alternate() -> list[Any]:
        await pool.open()
        seen: list[Any] = []
        try:
            for round_ in range(7):
                seen.append(await pool.run(rows, {"p_names": names}))
                seen.append(
                    await pool.run(comment, {"p_name": names[0], "p_comment": f"r{round_}"})
                )
                seen.append(await pool.run(comments, {"p_names": names}))
                with pytest.raises(StatementRefused):  # not a whole number: refused by the server
                    await pool.run(broken, {"p_id": "x"})
        finally:
            await pool.close()
        return seen

    seen = store_service.admin.portal.call(alternate)
    for round_ in range(7):
        read, updated, read_comments = seen[3 * round_ : 3 * round_ + 3]
        assert read[1:] == expected[1:]  # the first task's comment changes each round
        assert updated == []
        assert read_comments == [(names[0], f"r{round_}"), (names[1], "")]


@pytest.mark.parametrize("store_service", ["postgres"], indirect=True)
def test_the_driver_pool_sends_a_percent_a_repeated_value_and_a_list_as_sqlalchemy_does(
    store_service: Service,
) -> None:
    """The pool sends `$n` placeholders on a raw cursor: a literal `%`, a value used twice
    and an expanding list (past the 50 values psycopg would convert afresh each run) read
    what SQLAlchemy reads."""
    names = [f"prep-raw-{n}" for n in range(60)]
    _add_tasks(store_service, "prepared-raw", names[:3])
    engine = store_service.runtime.db.engine
    pattern = bindparam("p_pattern", type_=String)
    statement = (
        select(TASKS.c.name, literal_column("'50%'"), pattern)
        .where(TASKS.c.name.in_(bindparam("p_names", expanding=True)), TASKS.c.name.like(pattern))
        .order_by(TASKS.c.id)
    )
    values = {"p_names": names, "p_pattern": "prep-raw-%"}
    with engine.connect() as connection:
        expected = [tuple(row) for row in connection.execute(statement, values)]
    assert expected == [(name, "50%", "prep-raw-%") for name in names[:3]]
    prepared = PreparedStatement(statement, engine.dialect)
    pool = DriverPool(engine, min_size=1, max_size=1)

    async def read() -> list[list[tuple[Any, ...]]]:
        await pool.open()
        try:  # past psycopg's prepare threshold too
            return [await pool.run(prepared, values) for _ in range(7)]
        finally:
            await pool.close()

    for rows in store_service.admin.portal.call(read):
        assert rows == expected


@pytest.mark.parametrize("store_service", ["postgres"], indirect=True)
def test_postgresql_connections_read_times_in_utc_and_json_as_json_loads(
    store_service: Service,
) -> None:
    """Engine and driver-pool connections alike: the session's zone is UTC (psycopg then reads
    a timestamp with no zone lookup) and a JSON column holding a whole number past 64 bits
    (written by SQL, past the API's checks) reads whole, as json.loads reads it."""
    _add_tasks(store_service, "prepared-zone", ["prep-zone"])
    engine = store_service.runtime.db.engine
    big = 123456789012345678901234567890
    with engine.begin() as connection:
        connection.execute(
            update(TASKS).where(TASKS.c.name == "prep-zone").values(parameters={"n": 1})
        )
        connection.exec_driver_sql(
            f"""UPDATE tasks SET output = '{{"big": {big}}}' WHERE name = 'prep-zone'"""
        )
    read = select(TASKS.c.parameters, TASKS.c.output, TASKS.c.created_at).where(
        TASKS.c.name == "prep-zone"
    )
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
        on_engine = tuple(connection.execute(read).one())
    zone = PreparedStatement(select(func.current_setting("TimeZone")), engine.dialect)
    prepared = PreparedStatement(read, engine.dialect)
    pool = DriverPool(engine, min_size=1, max_size=1)

    async def on_pool() -> tuple[Any, ...]:
        await pool.open()
        try:
            return (await pool.run(zone, {}), await pool.run(prepared, {}))
        finally:
            await pool.close()

    zones, rows = store_service.admin.portal.call(on_pool)
    assert zones == [("UTC",)]
    assert rows == [on_engine]
    parameters, output, created_at = on_engine
    assert parameters == {"n": 1} and output == {"big": big} and type(output["big"]) is int
    assert created_at.tzinfo is UTC


@pytest.mark.parametrize("store_service", ["postgres"], indirect=True)
def test_the_driver_pool_never_hands_on_a_connection_left_mid_statement(
    store_service: Service,
) -> None:
    """A call cancelled while its statement runs (a client gone): the next caller's statement
    is answered, and the cancelled one no longer runs on the server (psycopg cancels it and
    the connection is idle again, or the pool closes the connection). A caller who finds
    every connection busy for the whole wait gets the engine's OperationalError (503)."""
    engine = store_service.runtime.db.engine
    sleep = PreparedStatement(select(func.pg_sleep(bindparam("p_seconds"))), engine.dialect)
    backend = PreparedStatement(select(func.pg_backend_pid()), engine.dialect)
    sleeping = text(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        "AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"
    )
    pool = DriverPool(engine, min_size=1, max_size=1, wait_seconds=0.2)

    def still_sleeping() -> int:
        with engine.connect() as connection:
            return int(connection.execute(sleeping).scalar_one())

    async def run() -> tuple[int, int, bool]:
        await pool.open()
        try:
            slow = asyncio.ensure_future(pool.run(sleep, {"p_seconds": 5}))
            await asyncio.sleep(0.2)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            after_cancel = len(await pool.run(backend, {}))
            left = still_sleeping()
            hold = asyncio.ensure_future(pool.run(sleep, {"p_seconds": 1}))
            await asyncio.sleep(0.1)
            with pytest.raises(OperationalError):
                await pool.run(backend, {})
            await hold
            answered = bool(await pool.run(backend, {}))
        finally:
            await pool.close()
        return after_cancel, left, answered

    assert store_service.admin.portal.call(run) == (1, 0, True)


@pytest.mark.parametrize("store_service", ["postgres"], indirect=True)
def test_the_driver_pool_answers_a_lost_connection_as_the_engine_does_and_then_reconnects(
    store_service: Service,
) -> None:
    """The database ends the pool's connection (a restart, a failover, an administrator):
    the next statement raises the engine's OperationalError (503, retry), the dead
    connection is dropped, and the one after runs on a new connection."""
    engine = store_service.runtime.db.engine
    backend = PreparedStatement(select(func.pg_backend_pid()), engine.dialect)
    pool = DriverPool(engine, min_size=1, max_size=1)

    def terminate(pid: int) -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    async def run() -> tuple[int, int]:
        await pool.open()
        try:
            first = (await pool.run(backend, {}))[0][0]
            await asyncio.to_thread(terminate, first)
            await asyncio.sleep(0.2)
            with pytest.raises(OperationalError):
                await pool.run(backend, {})
            return first, (await pool.run(backend, {}))[0][0]
        finally:
            await pool.close()

    first, second = store_service.admin.portal.call(run)
    assert first != second


@pytest.mark.parametrize("store_service", ["postgres"], indirect=True)
def test_the_driver_pool_connects_with_libpq_options_in_the_database_url(
    store_service: Service,
) -> None:
    """A ROBOFLEET_DATABASE_URL may carry libpq's own options (psycopg reads them); asyncpg
    would pass them to the server, which refuses them: the pool leaves them out."""
    url = store_service.runtime.db.engine.url.update_query_dict(
        {"connect_timeout": "5", "keepalives": "1", "application_name": "robofleet-lean"}
    )
    engine = create_engine(url)
    name = PreparedStatement(select(func.current_setting("application_name")), engine.dialect)
    pool = DriverPool(engine, min_size=1, max_size=1)

    async def run() -> list[tuple[Any, ...]]:
        await pool.open()
        try:
            return await pool.run(name, {})
        finally:
            await pool.close()

    try:
        assert store_service.admin.portal.call(run) == [("robofleet-lean",)]
    finally:
        engine.dispose()
