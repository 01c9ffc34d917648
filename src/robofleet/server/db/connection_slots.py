"""A small asyncio pool of database connections: a free list and a queue of waiters.

psycopg_pool's pool does more (a background worker that grows, checks and reconnects; a
Condition and a `wait_for` task per waiting caller), and under a fleet's load, when every
connection is busy, its waiting alone was 7 % of the server's GIL-held samples. Here a
connection is taken from the free list, or made on the spot while the pool has room, or
waited for on a plain future that a returned connection resolves; a connection that failed
or was left mid-statement is closed, not given back, and its slot goes to the next waiter
(who connects) or back to the pool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, NamedTuple, TypeVar

ConnectionT = TypeVar("ConnectionT")


class SlotTimeout(Exception):
    """Every connection stayed busy for the whole wait."""


class SlotUse(NamedTuple):
    in_use: int
    """Connections handed out, or being made for a caller."""
    idle: int
    max_size: int
    waiting: int
    """Callers waiting for a connection (every one is in use)."""


class ConnectionSlots(Generic[ConnectionT]):
    def __init__(
        self,
        connect: Callable[[], Awaitable[ConnectionT]],
        close: Callable[[ConnectionT], Coroutine[Any, Any, None]],
        *,
        max_size: int,
        wait_seconds: float,
    ) -> None:
        self._connect = connect
        self._close = close
        self._max_size = max_size
        self._wait_seconds = wait_seconds
        self._idle: list[ConnectionT] = []
        """Most recently returned last: the warmest connection is used first."""
        self._waiters: deque[asyncio.Future[ConnectionT | None]] = deque()
        self._size = 0
        """Connections open or being made."""
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()
        """Closes under way (the loop keeps only weak references to its tasks)."""

    @property
    def size(self) -> int:
        return self._size

    def use(self) -> SlotUse:
        """How the pool is used now (for the metrics, read from any thread: the copy of the
        waiters is made in one step, which the loop's thread cannot interleave)."""
        idle = len(self._idle)
        waiting = sum(1 for waiter in list(self._waiters) if not waiter.done())
        return SlotUse(self._size - idle, idle, self._max_size, waiting)

    async def get(self, *, first: bool = False) -> ConnectionT:
        """A connection: an idle one, a new one while there is room, else the next one given
        back. `first`: ahead of every caller already waiting (a statement that answers many
        callers at once: behind a long queue, one of those would wait as long as the queue)."""
        if self._closed:
            raise SlotTimeout("the pool is closed")
        if self._idle:
            return self._idle.pop()
        if self._size < self._max_size:
            return await self._made()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[ConnectionT | None] = loop.create_future()
        if first:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        expiry = loop.call_later(self._wait_seconds, _expire, waiter)
        try:
            connection = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed a connection (or a slot) just as this caller was cancelled.
                self._pass_on(waiter.result())
            raise
        finally:
            expiry.cancel()
            if not waiter.done():
                self._waiters.remove(waiter)
        if connection is None:  # a slot freed by a discarded connection: this caller connects
            self._size -= 1
            return await self._made()
        return connection

    def put(self, connection: ConnectionT) -> None:
        """Give back a connection in a known, idle state."""
        if self._closed:
            self._size -= 1
            self._close_later(connection)
            return
        self._pass_on(connection)

    def discard(self, connection: ConnectionT) -> None:
        """Close a connection that failed or was left mid-statement; its slot is free."""
        self._close_later(connection)
        self._pass_on(None)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(SlotTimeout("the pool is closed"))
        self._waiters.clear()
        for connection in idle:
            self._size -= 1
            await self._close(connection)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _close_later(self, connection: ConnectionT) -> None:
        task = asyncio.get_running_loop().create_task(self._close(connection))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _made(self) -> ConnectionT:
        self._size += 1
        try:
            return await self._connect()
        except BaseException:
            self._size -= 1
            raise

    def _pass_on(self, connection: ConnectionT | None) -> None:
        """A returned connection (or, for None, a freed slot) to the first live waiter."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is None:
            self._size -= 1
        else:
            self._idle.append(connection)


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(SlotTimeout("no connection was free in time"))
