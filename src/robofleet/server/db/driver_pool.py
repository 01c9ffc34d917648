"""A small pool of psycopg async connections for the lean path on PostgreSQL.

The front answers a robot's take, finish and renew on the event loop: one prepared statement
(db.prepared) on one of these connections, with no thread hop and no SQLAlchemy Connection.
They are made from the SAME connection arguments as the engine's (host, user, password, SSL,
and SQLAlchemy's adapters map, so JSON and timestamps load as the engine loads them), in
autocommit: each statement is a whole change, committed before it answers.

The pool belongs to the server's loop: it is opened in the app's lifespan and closed there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from robofleet.server.db.connection_slots import ConnectionSlots, SlotTimeout
from robofleet.server.db.dialect import SESSION_TIME_ZONE
from robofleet.server.db.prepared import PreparedStatement

MIN_CONNECTIONS = 2
MAX_CONNECTIONS = 8
"""Few: a statement here takes a fraction of a millisecond, and the loop runs one request's
Python at a time, so more connections would mostly sit idle."""
WAIT_SECONDS = 5.0
"""How long a request waits for a connection before it answers 503 (retry): all of them busy
that long, or none to be made, means the database is not answering."""


Lean = tuple[psycopg.AsyncConnection[Any], psycopg.AsyncRawCursor[Any]]
"""A connection and the one cursor it keeps while it lives: a new cursor each statement
built psycopg's transformer (and its per-type dumper lookups) afresh. Raw: the statements
come with `$n` placeholders, converted once (db.prepared)."""


async def _close(lean: Lean) -> None:
    await lean[0].close()


class DriverPool:
    def __init__(
        self,
        engine: Engine,
        *,
        min_size: int = MIN_CONNECTIONS,
        max_size: int = MAX_CONNECTIONS,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        args, arguments = engine.dialect.create_connect_args(engine.url)
        kwargs: dict[str, Any] = dict(arguments)
        if args:  # SQLAlchemy's psycopg dialect gives keywords only; a DSN would come first
            kwargs["conninfo"] = args[0]
        kwargs.setdefault("context", getattr(engine.dialect, "_psycopg_adapters_map", None))
        kwargs["autocommit"] = True
        self._conninfo = kwargs.pop("conninfo", "")
        self._kwargs = kwargs
        self._min_size = min_size
        self._warming: asyncio.Future[list[None]] | None = None
        self._slots: ConnectionSlots[Lean] = ConnectionSlots(
            self._connect, _close, max_size=max_size, wait_seconds=wait_seconds
        )
        self.statements = 0
        """Statements run on the pool: what shows that the lean path answered (tests)."""
        self.lookups = 0
        """Credential lookups run on the pool, counted apart: a cache miss before an
        operation does not change how many statements the operation took."""

    async def open(self) -> None:
        # Not waiting: a server starts with its database down, as the engine lets it, and
        # its requests answer 503 until the database is back. The first connections are
        # made beside the start-up; a failure there is the first request's to meet again.
        self._warming = asyncio.gather(*(self._warm() for _ in range(self._min_size)))

    async def close(self) -> None:
        if self._warming is not None:
            await self._warming
        await self._slots.close()

    async def _connect(self) -> Lean:
        try:
            connection = await asyncio.wait_for(
                psycopg.AsyncConnection.connect(self._conninfo, **self._kwargs), WAIT_SECONDS
            )
        except (OSError, TimeoutError) as exc:
            raise psycopg.OperationalError(f"could not connect: {exc}") from exc
        await connection.execute(SESSION_TIME_ZONE)  # in autocommit: nothing left open
        return connection, psycopg.AsyncRawCursor(connection)

    async def _warm(self) -> None:
        try:
            lean = await self._slots.get()
        except (psycopg.OperationalError, SlotTimeout):
            return
        self._slots.put(lean)

    async def run(
        self, statement: PreparedStatement, values: Mapping[str, Any], *, lookup: bool = False
    ) -> list[tuple[Any, ...]]:
        """Run one prepared statement on a pooled connection; its rows. A lost connection is
        reported as the engine's OperationalError, which the app answers 503 (retry), as on
        the session path; the broken connection is closed, not given back."""
        try:
            lean = await self._slots.get()
        except (psycopg.OperationalError, SlotTimeout) as exc:
            raise OperationalError(None, None, exc) from exc
        try:
            rows = await statement.run_async(lean[1], values)
        except psycopg.OperationalError as exc:
            self._slots.discard(lean)
            raise OperationalError(None, None, exc) from exc
        except BaseException:
            # An error the server answered leaves the connection idle; a cancelled call may
            # leave it mid-statement, which the next caller must not inherit.
            self._give_back(lean)
            raise
        self._slots.put(lean)
        if lookup:
            self.lookups += 1
        else:
            self.statements += 1
        return rows

    def _give_back(self, lean: Lean) -> None:
        connection = lean[0]
        if connection.closed or connection.pgconn.transaction_status != TransactionStatus.IDLE:
            self._slots.discard(lean)
        else:
            self._slots.put(lean)
