"""A small pool of psycopg async connections for the lean path on PostgreSQL.

The front answers a robot's take, finish and renew on the event loop: one prepared statement
(db.prepared) on one of these connections, with no thread hop and no SQLAlchemy Connection.
They are made from the SAME connection arguments as the engine's (host, user, password, SSL,
and SQLAlchemy's adapters map, so JSON and timestamps load as the engine loads them), in
autocommit: each statement is a whole change, committed before it answers.

The pool belongs to the server's loop: it is opened in the app's lifespan and closed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from robofleet.server.db.dialect import SESSION_TIME_ZONE
from robofleet.server.db.prepared import PreparedStatement

MIN_CONNECTIONS = 2
MAX_CONNECTIONS = 8
"""Few: a statement here takes a fraction of a millisecond, and the loop runs one request's
Python at a time, so more connections would mostly sit idle."""
WAIT_SECONDS = 5.0
"""How long a request waits for a connection before it answers 503 (retry): all of them busy
that long, or none to be made, means the database is not answering."""


async def _configure(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.execute(SESSION_TIME_ZONE)  # in autocommit: nothing left open


class DriverPool:
    def __init__(
        self, engine: Engine, *, min_size: int = MIN_CONNECTIONS, max_size: int = MAX_CONNECTIONS
    ) -> None:
        args, arguments = engine.dialect.create_connect_args(engine.url)
        kwargs: dict[str, Any] = dict(arguments)
        if args:  # SQLAlchemy's psycopg dialect gives keywords only; a DSN would come first
            kwargs["conninfo"] = args[0]
        kwargs.setdefault("context", getattr(engine.dialect, "_psycopg_adapters_map", None))
        kwargs["autocommit"] = True
        conninfo = kwargs.pop("conninfo", "")
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            conninfo,
            kwargs=kwargs,
            min_size=min_size,
            max_size=max_size,
            open=False,
            timeout=WAIT_SECONDS,
            name="robofleet-lean",
            configure=_configure,
        )
        # One cursor per connection, kept while the connection lives: a new cursor each
        # statement built psycopg's transformer (and its per-type dumper lookups) afresh.
        # Raw: the statements come with `$n` placeholders, converted once (db.prepared).
        self._cursors: WeakKeyDictionary[
            psycopg.AsyncConnection[Any], psycopg.AsyncRawCursor[Any]
        ] = WeakKeyDictionary()
        self.statements = 0
        """Statements run on the pool: what shows that the lean path answered (tests)."""
        self.lookups = 0
        """Credential lookups run on the pool, counted apart: a cache miss before an
        operation does not change how many statements the operation took."""

    async def open(self) -> None:
        # Not waiting: a server starts with its database down, as the engine lets it, and
        # its requests answer 503 until the database is back.
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def run(
        self, statement: PreparedStatement, values: Mapping[str, Any], *, lookup: bool = False
    ) -> list[tuple[Any, ...]]:
        """Run one prepared statement on a pooled connection; its rows. A lost connection is
        reported as the engine's OperationalError, which the app answers 503 (retry), as on
        the session path; the pool discards the broken connection when it is given back."""
        try:
            connection = await self._pool.getconn()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise OperationalError(None, None, exc) from exc
        cursor = self._cursors.get(connection)
        if cursor is None:
            cursor = self._cursors[connection] = psycopg.AsyncRawCursor(connection)
        try:
            rows = await statement.run_async(cursor, values)
        except psycopg.OperationalError as exc:
            raise OperationalError(None, None, exc) from exc
        finally:
            await self._pool.putconn(connection)
        if lookup:
            self.lookups += 1
        else:
            self.statements += 1
        return rows
