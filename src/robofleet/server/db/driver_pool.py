"""A small pool of asyncpg connections for the lean path on PostgreSQL.

The front answers a robot's hot operations on the event loop: one prepared statement
(db.prepared) on one of these connections, with no thread hop and no SQLAlchemy Connection.
asyncpg, not psycopg, because its protocol is compiled: one statement cost this process
26-34 µs of CPU against psycopg's async cursor 52-72 µs (docs/benchmarks.md), and a fleet's
requests are one statement each. The connections go to the engine's database (its URL: host,
user, password, SSL), in autocommit, each statement a whole change committed before it
answers; the statements are the engine's own, compiled for the psycopg dialect, whose casts
name every parameter's type. JSON goes out as the psycopg dialect hands it (its `Json`
wrappers, dumped as psycopg would) and comes back through the engine's reader (stored_json);
times are read as asyncpg reads them, each distinct one built once (stored_times).

The pool belongs to the server's loop: it is opened in the app's lifespan and closed there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import asyncpg
from psycopg.types.json import Json, Jsonb
from sqlalchemy import URL, Engine
from sqlalchemy.exc import OperationalError

from robofleet.server.db.connection_slots import ConnectionSlots, SlotTimeout, SlotUse
from robofleet.server.db.dialect import SESSION_ZONE
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.stored_json import loads_stored
from robofleet.server.db.stored_times import read_time, written_time

MIN_CONNECTIONS = 2
MAX_CONNECTIONS = 8
"""Few: a statement here takes a fraction of a millisecond, and the loop runs one request's
Python at a time, so more connections would mostly sit idle."""
WAIT_SECONDS = 5.0
"""How long a request waits for a connection before it answers 503 (retry): all of them busy
that long, or none to be made, means the database is not answering."""


STATEMENT_SIZE_KEPT = 64 * 1024
"""asyncpg keeps prepared only statements up to this long (its default, 15 KiB, would leave
a long batch's statement to be prepared on every run)."""
CONNECTION_LOST = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
"""What means the database did not answer (503, retry), not that it refused the statement."""


LIBPQ_ONLY = frozenset(
    {
        "connect_timeout",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "hostaddr",
        "gssencmode",
        "gssdelegation",
        "requirepeer",
        "require_auth",
        "channel_binding",
        "load_balance_hosts",
        "sslcompression",
        "sslsni",
        "sslcertmode",
        "fallback_application_name",
    }
)
"""Connection-string options of libpq (psycopg's) that asyncpg does not know: it would send
them to the server as settings, which refuses them. The pool leaves them out; a
`connect_timeout` becomes its connect timeout."""


def asyncpg_target(url: URL) -> tuple[str, float]:
    """The DSN asyncpg connects to for the engine's URL, and the connect timeout."""
    query = dict(url.query)
    timeout = WAIT_SECONDS
    given = query.get("connect_timeout")
    if isinstance(given, str) and given.strip().isdigit() and int(given) > 0:
        timeout = float(given)
    kept = {key: value for key, value in query.items() if key not in LIBPQ_ONLY}
    target = url.set(drivername="postgresql", query=kept)
    return target.render_as_string(hide_password=False), timeout


class StatementRefused(Exception):
    """The database refused a statement (a constraint, a value out of range): nothing of it
    was written. The session path, with SQLAlchemy's errors, answers the request instead."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate = sqlstate
        """PostgreSQL's code for the refusal (23505: a unique key already taken)."""


def _json_text(value: Any) -> str:
    if isinstance(value, Json | Jsonb):
        dumped = (value.dumps or json.dumps)(value.obj)
        return dumped.decode() if isinstance(dumped, bytes) else dumped
    return value if isinstance(value, str) else json.dumps(value)


async def _configure(connection: Any) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, schema="pg_catalog", encoder=_json_text, decoder=loads_stored, format="text"
        )
    # GUIDs stay text in Python, as on SQLite and through SQLAlchemy (db.base.GuidType).
    await connection.set_type_codec(
        "uuid", schema="pg_catalog", encoder=str, decoder=str, format="text"
    )
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=written_time,
        decoder=read_time,
        format="tuple",
    )


async def _close(connection: Any) -> None:
    try:
        await asyncio.wait_for(connection.close(), WAIT_SECONDS)
    except (*CONNECTION_LOST, asyncpg.PostgresError):
        connection.terminate()


class DriverPool:
    def __init__(
        self,
        engine: Engine,
        *,
        min_size: int = MIN_CONNECTIONS,
        max_size: int = MAX_CONNECTIONS,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._dsn, self._connect_timeout = asyncpg_target(engine.url)
        self._min_size = min_size
        self._warming: asyncio.Future[list[None]] | None = None
        self._slots: ConnectionSlots[Any] = ConnectionSlots(
            self._connect,
            _close,
            max_size=max_size,
            wait_seconds=wait_seconds,
            reusable=_reusable,
        )
        self.statements = 0
        """Statements run on the pool: what shows that the lean path answered (tests)."""
        self.lookups = 0
        """Credential lookups run on the pool, counted apart: a cache miss before an
        operation does not change how many statements the operation took."""

    def use(self) -> SlotUse:
        """The pool's connections now: in use, idle, the most it opens, callers waiting."""
        return self._slots.use()

    async def open(self) -> None:
        # Not waiting: a server starts with its database down, as the engine lets it, and
        # its requests answer 503 until the database is back. The first connections are
        # made beside the start-up; a failure there is the first request's to meet again.
        self._warming = asyncio.gather(*(self._warm() for _ in range(self._min_size)))

    async def close(self) -> None:
        if self._warming is not None:
            await self._warming
        await self._slots.close()

    async def _connect(self) -> Any:
        connection = await asyncpg.connect(
            self._dsn,
            timeout=self._connect_timeout,
            max_cacheable_statement_size=STATEMENT_SIZE_KEPT,
            # The engine's sessions' zone: text of a time reads alike on both.
            server_settings={"TimeZone": SESSION_ZONE},
        )
        try:
            await _configure(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def _warm(self) -> None:
        try:
            await self._slots.run(_nothing)
        except (*CONNECTION_LOST, SlotTimeout):
            return

    async def run(
        self,
        statement: PreparedStatement,
        values: Mapping[str, Any],
        *,
        lookup: bool = False,
        first: bool = False,
    ) -> list[tuple[Any, ...]]:
        """Run one prepared statement on a pooled connection; its rows. A lost connection is
        reported as the engine's OperationalError, which the app answers 503 (retry), as on
        the session path; the broken connection is closed, not given back. A statement the
        database refuses raises StatementRefused. `first`: the statement of a group of
        callers, ahead of the single statements waiting for a connection."""
        try:
            rows = await self._slots.run(
                lambda connection: statement.run_async(connection, values), first=first
            )
        except (*CONNECTION_LOST, SlotTimeout) as exc:
            raise OperationalError(None, None, exc) from exc
        except asyncpg.PostgresError as exc:
            raise StatementRefused(exc.sqlstate or "", str(exc)) from exc
        if lookup:
            self.lookups += 1
        else:
            self.statements += 1
        return rows


async def _nothing(connection: Any) -> None:
    return None


def _reusable(connection: Any, failure: BaseException) -> bool:
    """Whether a connection whose statement raised `failure` can run the next one: not when
    it was lost, nor when it was left mid-statement (a cancelled call), which the next
    caller must not inherit."""
    if isinstance(failure, CONNECTION_LOST):
        return False
    return not (connection.is_closed() or connection.is_in_transaction())
