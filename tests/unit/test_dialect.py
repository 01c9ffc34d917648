"""What each store's dialect object answers, and the session listeners a Database scopes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeDecorator

from robofleet.server.db import task_statements
from robofleet.server.db.audit import NotAudited
from robofleet.server.db.base import UtcDateTime
from robofleet.server.db.dialect import (
    POSTGRESQL,
    SQLITE,
    WRITE_OPTION,
    Dialect,
    dialect_for_url,
    dialect_named,
    dialect_of,
)
from robofleet.server.db.engine import make_engine
from robofleet.server.db.session import Database
from robofleet.server.db.tables import JobRow
from robofleet.server.db.tables.queues import TASK_TABLE

UNIT_TEST = NotAudited("writes of a unit test")


def postgres_sql(statement: ClauseElement) -> str:
    return str(statement.compile(dialect=postgresql.dialect()))


def test_sqlite_answers() -> None:
    assert SQLITE.name == "sqlite"
    assert SQLITE.single_writer
    assert not SQLITE.notifies
    assert SQLITE.naive_timestamps


def test_postgres_answers() -> None:
    assert POSTGRESQL.name == "postgresql"
    assert not POSTGRESQL.single_writer
    assert POSTGRESQL.notifies
    assert not POSTGRESQL.naive_timestamps


def test_postgres_claims_skip_locked_rows() -> None:
    claimed = POSTGRESQL.for_claim(select(JobRow.id).limit(1))
    assert "FOR UPDATE SKIP LOCKED" in postgres_sql(claimed)


def test_sqlite_claims_lock_nothing_themselves() -> None:
    # Compiled for PostgreSQL, which would print a lock clause if the query carried one: the
    # SQLite claim relies on its BEGIN IMMEDIATE write transaction instead.
    claimed = SQLITE.for_claim(select(JobRow.id).limit(1))
    assert "FOR UPDATE" not in postgres_sql(claimed)


@pytest.mark.parametrize(("dialect", "locked"), [(POSTGRESQL, True), (SQLITE, False)])
def test_task_take_statement_follows_the_dialect(dialect: Dialect, locked: bool) -> None:
    take = postgres_sql(task_statements.take_from_queue(dialect))
    assert ("FOR UPDATE SKIP LOCKED" in take) is locked
    picked = task_statements.pick_new([TASK_TABLE.c.priority == 1], dialect)
    assert ("FOR UPDATE SKIP LOCKED" in postgres_sql(picked)) is locked
    # The SQLite form also compiles for SQLite.
    assert "UPDATE" in str(
        task_statements.take_from_queue(SQLITE).compile(dialect=sqlite.dialect())
    )


def test_take_statement_is_built_once_per_dialect() -> None:
    assert task_statements.take_from_queue(SQLITE) is task_statements.take_from_queue(SQLITE)
    assert task_statements.take_from_queue(SQLITE) is not task_statements.take_from_queue(
        POSTGRESQL
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///robofleet.db", SQLITE),
        ("sqlite://", SQLITE),
        ("postgresql+psycopg://robofleet@localhost/robofleet", POSTGRESQL),
        ("postgresql://robofleet@localhost/robofleet", POSTGRESQL),
    ],
)
def test_dialect_is_chosen_from_the_url(url: str, expected: Dialect) -> None:
    assert dialect_for_url(url) is expected


def test_unknown_store_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="mysql"):
        dialect_named("mysql")


def test_timestamps_lose_their_zone_only_where_the_store_has_none() -> None:
    column_type = UtcDateTime()
    at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert column_type.process_bind_param(at, sqlite.dialect()) == at.replace(tzinfo=None)
    assert column_type.process_bind_param(at, postgresql.dialect()) == at


@pytest.mark.parametrize(
    "at",
    [
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC),  # no fraction: still six digits
        datetime(2024, 5, 1, 12, 0, 7, 5, tzinfo=UTC),
        datetime(2031, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=-3))),
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-1))),
        datetime(9999, 12, 31, 23, 59, 59, 123_456, tzinfo=UTC),
        None,
    ],
)
def test_a_timestamp_binds_on_sqlite_as_sqlalchemy_would_bind_it(at: datetime | None) -> None:
    """UtcDateTime's one-step bind on SQLite gives the text that process_bind_param followed
    by SQLAlchemy's own SQLite DATETIME processor gives."""
    dialect = sqlite.dialect()
    bound = UtcDateTime().dialect_impl(dialect)  # its impl is SQLite's DATETIME
    assert isinstance(bound, UtcDateTime)
    fast = bound.bind_processor(dialect)
    composed = TypeDecorator.bind_processor(bound, dialect)
    assert fast is not None and composed is not None
    assert fast(at) == composed(at)
    with pytest.raises(ValueError, match="naive"):
        fast(datetime(2024, 5, 1, 12, 0))


@pytest.mark.parametrize(
    ("dialect", "stored"),
    [
        (sqlite.dialect(), "2024-05-01 12:00:07.000005"),
        (sqlite.dialect(), "2024-05-01 12:00:00"),  # written by SQL, no fraction
        (sqlite.dialect(), "9999-12-31 23:59:59.123456"),
        (sqlite.dialect(), "2024-05-01"),  # a date alone: SQLAlchemy's parser reads it
        (sqlite.dialect(), None),
        (postgresql.psycopg.dialect(), datetime(2024, 5, 1, 12, 0, 7, tzinfo=UTC)),
        (
            postgresql.psycopg.dialect(),
            datetime(2031, 12, 31, 20, 59, tzinfo=timezone(timedelta(hours=-3))),
        ),
        (postgresql.psycopg.dialect(), datetime(2024, 5, 1, 12, 0)),  # naive: read as UTC
        (postgresql.psycopg.dialect(), None),
    ],
)
def test_a_timestamp_reads_as_sqlalchemy_would_read_it(
    dialect: Any, stored: str | datetime | None
) -> None:
    """UtcDateTime's one-call read gives what the driver's conversion followed by
    process_result_value gives: aware, in UTC, the same instant."""
    column_type = UtcDateTime().dialect_impl(dialect)
    assert isinstance(column_type, UtcDateTime)
    fast = column_type.result_processor(dialect, None)
    composed = TypeDecorator.result_processor(column_type, dialect, None)
    assert fast is not None
    expected = composed(stored) if composed is not None else stored
    read = fast(stored)
    assert read == expected
    if read is not None:
        assert read.tzinfo is UTC and expected is not None and expected.tzinfo is UTC


class _Base(DeclarativeBase):
    pass


class _Note(_Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def _sqlite_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    _Base.metadata.create_all(engine)
    return engine


@pytest.fixture
def two_databases(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    first = Database(_sqlite_engine(tmp_path / "first.db"))
    second = Database(_sqlite_engine(tmp_path / "second.db"))
    yield first, second
    first.dispose()
    second.dispose()


def test_database_opens_with_its_dialect(two_databases: tuple[Database, Database]) -> None:
    db, _ = two_databases
    assert db.dialect is SQLITE
    with db.read() as session:
        assert dialect_of(session) is SQLITE
    with db.write(actor=UNIT_TEST) as session:
        assert dialect_of(session) is SQLITE
        assert dialect_of(session.connection()) is SQLITE


def test_listeners_hear_only_their_own_database(two_databases: tuple[Database, Database]) -> None:
    first, second = two_databases
    flushed: list[str] = []

    def on_flush(session: Session, _flush: Any) -> None:
        flushed.extend(note.text for note in session.new if isinstance(note, _Note))

    detach = first.listen("after_flush", on_flush)
    for db, text in ((first, "first"), (second, "second")):
        with db.write(actor=UNIT_TEST) as session:
            session.add(_Note(text=text))
    with Session(first.engine) as session, session.begin():
        session.add(_Note(text="plain session"))
    assert flushed == ["first"]

    detach()
    with first.write(actor=UNIT_TEST) as session:
        session.add(_Note(text="after detach"))
    assert flushed == ["first"]


def test_importing_the_listeners_installs_nothing_process_wide() -> None:
    import robofleet.server.app  # noqa: F401 - imports db.audit and services.caches

    assert len(Session().dispatch.after_flush) == 0


def test_sqlite_transactions_begin_as_the_engine_asks(tmp_path: Path) -> None:
    """Writes take the write lock when they begin (BEGIN IMMEDIATE), reads do not."""
    engine = make_engine(f"sqlite:///{tmp_path / 'begin.db'}")
    with engine.connect() as reader, engine.connect() as other, reader.begin():
        reader.exec_driver_sql("SELECT 1")
        # A deferred BEGIN holds no lock: another connection can still take the write lock.
        with other.execution_options(**{WRITE_OPTION: True}).begin():
            assert other.connection.driver_connection.in_transaction  # type: ignore[union-attr]
    engine.dispose()


def test_a_locked_sqlite_database_refuses_a_write_as_the_engines_error(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE runs on the driver; its failure still comes out as SQLAlchemy's
    OperationalError, which the app answers 503 (retry)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'locked.db'}")
    with engine.connect() as connection:
        connection.connection.driver_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
        holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        try:
            writer = connection.execution_options(**{WRITE_OPTION: True})
            with pytest.raises(OperationalError, match="database is locked"):
                writer.begin()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    engine.dispose()
