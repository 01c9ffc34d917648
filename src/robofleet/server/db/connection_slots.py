"""A small asyncio pool of database connections that runs callers' statements on them: a
free list and a queue of statements waiting for a connection.

psycopg_pool's pool does more (a background worker that grows, checks and reconnects; a
Condition and a `wait_for` task per waiting caller), and under a fleet's load, when every
connection is busy, its waiting alone was 7 % of the server's GIL-held samples. Here a
caller's statement runs in the caller's task on an idle connection, or on one made on the
spot while the pool has room; when every connection is busy it is queued, and a connection
that finishes a statement starts the next one queued in the same step, in one task that
keeps it while the queue lasts. Handing the connection back to a waiting caller instead
costs two turns of the event loop (the finishing caller resumes, then the waiting one), and
under a fleet's start-up backlog, where a turn runs hundreds of callbacks, the pool served
fewer statements than arrived and its queue fed itself (docs/benchmarks.md, "A queue of
statements in PostgreSQL's pool"). A connection that failed or was left
mid-statement is closed, not reused, and its slot goes to the next statement queued (which
connects) or back to the pool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, NamedTuple, TypeVar

ConnectionT = TypeVar("ConnectionT")
ResultT = TypeVar("ResultT")
Work = Callable[[ConnectionT], Awaitable[Any]]


class SlotTimeout(Exception):
    """Every connection stayed busy for the whole wait."""


class SlotUse(NamedTuple):
    in_use: int
    """Connections running a statement, or being made for one."""
    idle: int
    max_size: int
    waiting: int
    """Statements waiting for a connection (every one is in use)."""


class _Queued(Generic[ConnectionT]):
    __slots__ = ("abandoned", "answer", "expiry", "runner", "work")

    def __init__(
        self, work: Work[ConnectionT], answer: asyncio.Future[Any], expiry: asyncio.TimerHandle
    ) -> None:
        self.work = work
        self.answer = answer
        """The caller's: done early when the caller gave up (timed out or was cancelled)."""
        self.expiry = expiry
        self.runner: asyncio.Task[None] | None = None
        """The task running the statement now, set while it runs."""
        self.abandoned = False
        """Its caller was cancelled while it ran: the runner stops it and goes on."""


class ConnectionSlots(Generic[ConnectionT]):
    def __init__(
        self,
        connect: Callable[[], Awaitable[ConnectionT]],
        close: Callable[[ConnectionT], Coroutine[Any, Any, None]],
        *,
        max_size: int,
        wait_seconds: float,
        reusable: Callable[[ConnectionT, BaseException], bool],
    ) -> None:
        self._connect = connect
        self._close = close
        self._reusable = reusable
        """Whether a connection whose statement raised this is still fit for the next."""
        self._max_size = max_size
        self._wait_seconds = wait_seconds
        self._idle: list[ConnectionT] = []
        """Most recently freed last: the warmest connection is used first."""
        self._queued: deque[_Queued[ConnectionT]] = deque()
        self._size = 0
        """Connections open or being made."""
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        """Closes and queue runners under way (the loop keeps only weak references)."""

    @property
    def size(self) -> int:
        return self._size

    def use(self) -> SlotUse:
        """How the pool is used now (for the metrics, read from any thread: the copy of the
        queue is made in one step, which the loop's thread cannot interleave)."""
        idle = len(self._idle)
        waiting = sum(1 for queued in list(self._queued) if not queued.answer.done())
        return SlotUse(self._size - idle, idle, self._max_size, waiting)

    async def run(
        self, work: Callable[[ConnectionT], Awaitable[ResultT]], *, first: bool = False
    ) -> ResultT:
        """`work` on a connection: an idle one, a new one while there is room, else the next
        one freed. `first`: ahead of every statement already queued (one that answers many
        callers at once: behind a long queue, each of those would wait as long as the
        queue). Raises what `work` raised, the connect's error, or SlotTimeout."""
        if self._closed:
            raise SlotTimeout("the pool is closed")
        if self._idle:
            return await self._run_here(self._idle.pop(), work)
        if self._size < self._max_size:
            return await self._run_here(await self._made(), work)
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        expiry = loop.call_later(self._wait_seconds, _expire, answer)
        queued: _Queued[ConnectionT] = _Queued(work, answer, expiry)
        if first:
            self._queued.appendleft(queued)
        else:
            self._queued.append(queued)
        try:
            result: ResultT = await queued.answer
        except asyncio.CancelledError:
            if queued.runner is not None:
                # A client gone mid-statement: the statement is stopped, as it would be
                # had it run in the caller's own task.
                queued.abandoned = True
                queued.runner.cancel()
            raise
        finally:
            queued.expiry.cancel()
        return result

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for queued in self._queued:
            _fail(queued.answer, SlotTimeout("the pool is closed"))
        self._queued.clear()
        for connection in idle:
            self._size -= 1
            await self._close(connection)
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run_here(
        self, connection: ConnectionT, work: Callable[[ConnectionT], Awaitable[ResultT]]
    ) -> ResultT:
        try:
            result = await work(connection)
        except BaseException as exc:
            self._free(self._kept(connection, exc))
            raise
        self._free(connection)
        return result

    def _kept(self, connection: ConnectionT | None, failure: BaseException) -> ConnectionT | None:
        """The connection whose statement (or connect, for None) raised `failure`, if it is
        fit for the next statement; else None, and it is closed (its slot stays counted)."""
        if connection is None or self._reusable(connection, failure):
            return connection
        self._start(self._close(connection))
        return None

    def _free(self, connection: ConnectionT | None) -> None:
        """A connection done with its statement (or, for None, the slot of one closed): to
        the statements queued, else to the free list."""
        if not self._closed and self._next_queued() is not None:
            self._start(self._serve_queue(connection))
        else:
            self._release(connection)

    def _next_queued(self) -> _Queued[ConnectionT] | None:
        """The first statement queued whose caller still waits (those who gave up dropped)."""
        while self._queued:
            if not self._queued[0].answer.done():
                return self._queued[0]
            self._queued.popleft()
        return None

    async def _serve_queue(self, connection: ConnectionT | None) -> None:
        """Run the queued statements on one slot's connection, each started as the last one
        ends, until the queue is empty. Without a connection (its last one closed), the slot
        connects for the next statement; a failed connect fails that statement alone."""
        while not self._closed and (queued := self._next_queued()) is not None:
            self._queued.popleft()
            try:
                if connection is None:
                    connection = await self._connect()
                result = await self._run_queued(queued, connection)
            except Exception as exc:
                connection = self._kept(connection, exc)
                _fail(queued.answer, exc)
            except asyncio.CancelledError as exc:
                connection = self._kept(connection, exc)
                if not queued.abandoned:  # the task itself is stopped (the loop ending)
                    _fail(queued.answer, SlotTimeout("the pool is closing"))
                    self._release(connection)
                    raise
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
            else:
                if not queued.answer.done():
                    queued.answer.set_result(result)
        self._release(connection)

    async def _run_queued(self, queued: _Queued[ConnectionT], connection: ConnectionT) -> Any:
        queued.expiry.cancel()  # the wait was for a connection, not for the statement
        queued.runner = asyncio.current_task()
        try:
            return await queued.work(connection)
        finally:
            queued.runner = None

    def _release(self, connection: ConnectionT | None) -> None:
        """A slot out of use: its connection idle (closed once the pool is), or the slot
        given up."""
        if connection is not None and not self._closed:
            self._idle.append(connection)
            return
        self._size -= 1
        if connection is not None:
            self._start(self._close(connection))

    def _start(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _made(self) -> ConnectionT:
        self._size += 1
        try:
            return await self._connect()
        except BaseException:
            self._size -= 1
            raise


def _fail(answer: asyncio.Future[Any], exc: BaseException) -> None:
    if not answer.done():
        answer.set_exception(exc)


def _expire(answer: asyncio.Future[Any]) -> None:
    _fail(answer, SlotTimeout("no connection was free in time"))
