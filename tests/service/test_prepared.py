"""A PreparedStatement (db.prepared) reads and writes exactly what the same Core statement run
through SQLAlchemy does, on both stores: the same rows, the same types (UTC-aware timestamps,
JSON, booleans), the same stored values (SQLite's text timestamps, JSON `null`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import bindparam, select, update

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
def test_run_async_on_psycopg_reads_what_sqlalchemy_reads(store_service: Service) -> None:
    engine = store_service.runtime.db.engine
    names = ["prep-async"]
    _add_tasks(store_service, "prepared-async", names)
    statement = PreparedStatement(_by_names(), engine.dialect)
    expected = _core_rows(store_service, names)
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def read() -> list[list[tuple[Any, ...]]]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            # Past psycopg's prepare threshold: the server-side prepared form answers too.
            return [await statement.run_async(connection, {"p_names": names}) for _ in range(7)]

    for rows in asyncio.run(read()):
        assert rows == expected
