"""A small pool of psycopg async connections for the lean path on PostgreSQL.

The front answers a robot's take, finish and renew on the event loop: one prepared statement
(db.prepared) on one of these connections, with no thread hop and no SQLAlchemy Connection.
They are made from the SAME connection arguments as the engine's (host, user, password, SSL,
and SQLAlchemy's adapters map, so JSON and timestamps load as the engine loads them), in
autocommit: each statement is a whole change, committed before it answers.

The pool belongs to the server's loop: it is opened in the app's lifespan and closed there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

MIN_CONNECTIONS = 2
MAX_CONNECTIONS = 8
"""Few: a statement here takes a fraction of a millisecond, and the loop runs one request's
Python at a time, so more connections would mostly sit idle."""


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
            name="robofleet-lean",
        )
        self.statements = 0
        """Statements run on the pool: what shows that the lean path answered (tests)."""

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=30.0)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for one statement. A lost connection is reported as the engine's
        OperationalError, which the app answers 503 (retry), as on the session path; the
        pool discards the broken connection."""
        try:
            async with self._pool.connection() as connection:
                yield connection
                self.statements += 1
        except psycopg.OperationalError as exc:
            raise OperationalError(None, None, exc) from exc
