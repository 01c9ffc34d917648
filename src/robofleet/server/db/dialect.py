"""Everything that differs between the stores Robofleet runs on, in one place.

One `Dialect` object is chosen when the database is opened (`Database.dialect`); the rest of
the code calls it instead of asking which database it runs on. Column types and partial-index
predicates keep SQLAlchemy's own per-dialect variants (`db.base`, `db.tables`, migrations).
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Engine, Select, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from robofleet.server.db.stored_json import loads_stored

SESSION_ZONE = "UTC"
"""The zone of every PostgreSQL session, the engine's and the lean pool's. Times are the same
instants in any zone, but psycopg reads a `timestamptz` in the zone named `UTC` with no zone
lookup: under `Etc/UTC` (this machine's default) a take's 300 timestamps cost 0.2 ms more."""
SESSION_TIME_ZONE = f"SET TIME ZONE '{SESSION_ZONE}'"
"""Each engine connection's first statement."""

WRITE_OPTION = "robofleet_write"
"""Execution option marking the engine of write sessions (`db.session`)."""

QueryT = TypeVar("QueryT", bound=Select[Any])


class Dialect(ABC):
    """What one store does differently. Instances hold no state: one per store."""

    name: ClassVar[str]
    """SQLAlchemy's dialect name, also reported by `/readyz`."""
    single_writer: ClassVar[bool]
    """Writers queue on one process-wide lock: the store admits one writer at a time."""
    notifies: ClassVar[bool]
    """LISTEN/NOTIFY is available, so a commit can be announced to every server node."""
    naive_timestamps: ClassVar[bool]
    """Timestamps are stored without a zone (as UTC) because the store has no zoned type."""
    one_statement_claims: ClassVar[bool]
    """Take and finish run as one statement each, history included, in autocommit
    (db.task_statements.one_trip): one round trip per request."""
    analyze_after_bulk_adds: ClassVar[bool]
    """The planner needs fresh statistics to keep the take on its index after a bulk add
    (runtime.planner_statistics); SQLite's planner picks that index without them."""

    @abstractmethod
    def for_claim(self, query: QueryT) -> QueryT:
        """`query` as the pick of an atomic claim: the rows it returns are the caller's until
        its transaction ends, and concurrent claimers do not wait for each other."""

    @abstractmethod
    def create_engine(self, url: str, *, sqlite_synchronous: str, pool_size: int) -> Engine:
        """The engine for `url`, with this store's pool and connection set-up."""

    def reserve_ids(self, session: Session, table: str, count: int) -> list[int] | None:
        """`count` fresh primary keys of `table` for rows the caller inserts next, or None
        where the store hands them out only on insert. With the keys set, the ORM writes a
        batch as one executemany without RETURNING, which psycopg pipelines under a single
        prepared statement; otherwise it builds a multi-row INSERT ... RETURNING whose long
        text the driver parses anew each time (a third of the scheduler's batch cost)."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class SQLiteDialect(Dialect):
    name = "sqlite"
    single_writer = True
    notifies = False
    analyze_after_bulk_adds = False
    naive_timestamps = True
    one_statement_claims = False

    def for_claim(self, query: QueryT) -> QueryT:
        # A write transaction opens with BEGIN IMMEDIATE, which already excludes every other
        # writer, so a plain SELECT then UPDATE is atomic.
        return query

    def create_engine(self, url: str, *, sqlite_synchronous: str, pool_size: int) -> Engine:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=16,
            max_overflow=16,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            # Take transaction control from the driver so BEGIN IMMEDIATE is ours to issue.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous.upper()}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # A write transaction takes the database write lock up front, so it never fails
            # half-way with SQLITE_BUSY when another writer commits first.
            write = connection.get_execution_options().get(WRITE_OPTION, False)
            # On the driver: through SQLAlchemy's execution context a BEGIN took twice the
            # time. A driver error comes out as the engine's (a locked database: 503).
            try:
                connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                    "BEGIN IMMEDIATE" if write else "BEGIN"
                ).close()
            except sqlite3.Error as exc:
                raise DBAPIError.instance("BEGIN", None, exc, sqlite3.Error) from exc

        return engine


class PostgresDialect(Dialect):
    name = "postgresql"
    single_writer = False
    notifies = True
    analyze_after_bulk_adds = True
    naive_timestamps = False
    one_statement_claims = True

    def for_claim(self, query: QueryT) -> QueryT:
        return query.with_for_update(skip_locked=True)

    def reserve_ids(self, session: Session, table: str, count: int) -> list[int] | None:
        rows = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table, "n": count},
        )
        return [int(row[0]) for row in rows]

    def create_engine(self, url: str, *, sqlite_synchronous: str, pool_size: int) -> Engine:
        # No pre-ping: it costs a round trip per request. A connection found dead is discarded
        # with the pool, and the request that found it gets a 503 to retry (api.errors).
        # JSON columns are read by orjson (stored_json), as the lean pool reads them too.
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_recycle=1800,
            json_deserializer=loads_stored,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.execute(SESSION_TIME_ZONE)
            dbapi_connection.commit()

        return engine


SQLITE = SQLiteDialect()
POSTGRESQL = PostgresDialect()
_BY_NAME: dict[str, Dialect] = {dialect.name: dialect for dialect in (SQLITE, POSTGRESQL)}


def dialect_named(name: str) -> Dialect:
    """The dialect of SQLAlchemy's dialect `name` ("sqlite", "postgresql")."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unsupported database {name!r}: use SQLite or PostgreSQL") from None


def dialect_for_url(url: str) -> Dialect:
    return dialect_named(make_url(url).get_backend_name())


def dialect_of(bind: Session | Engine | Connection) -> Dialect:
    """The dialect a session, engine or connection talks to."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return dialect_named(engine.dialect.name)
