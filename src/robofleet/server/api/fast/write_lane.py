"""SQLite's writes from the front on one thread, many to a commit.

On the front's worker threads each write took a turn of the group writer on its own: a hop to
a thread, a wait on the turn's lock, a wait on the group's commit and a hop back, each a
context switch or two, for a write of a few statements. Here one thread takes every write
waiting, runs them one after the other in ONE held turn of the group writer (each in its own
savepoint: one that fails undoes only its own work), and once that group has committed
answers them all with one wake-up of the loop. An answer still means "stored".

A call that needs a turn of its own (a session write: the service's fallback from its lean
statements) raises TurnHeld here with nothing kept; it runs again on the worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from robofleet.server.api.fast.workers import settle
from robofleet.server.db.group_writer import MAX_GROUP, GroupWriter, TurnHeld
from robofleet.server.db.raw_write import run_held

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]
_Done = tuple[Any, BaseException | None]
"""A call's result, or what it raised."""


def _settle_all(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        settle(future, result, error)


class WriteLane:
    def __init__(
        self,
        writer: GroupWriter,
        elsewhere: Callable[..., Awaitable[Any]],
        max_calls: int = MAX_GROUP,
    ) -> None:
        self._writer = writer
        self._elsewhere = elsewhere
        """Runs a call that needs a turn of its own: elsewhere(call, *args)."""
        self._max_calls = max_calls
        self._inbox: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """`call(*args)`, answered once the group holding its writes has committed; raises
        what it raised. A call that needs a turn of its own runs again, whole, elsewhere:
        nothing of its first run was kept."""
        try:
            return await self._on_lane(call, args)
        except TurnHeld:
            return await self._elsewhere(call, *args)

    async def _on_lane(self, call: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self._thread is None:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._inbox.put((loop, future, call, args))
        return await future

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                # Daemon: an idle lane must not keep the process from exiting.
                self._thread = threading.Thread(target=self._work, name="write-lane", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            jobs = [self._inbox.get()]
            with contextlib.suppress(queue.Empty):
                while len(jobs) < self._max_calls:
                    jobs.append(self._inbox.get_nowait())
            self._answer(jobs, self._run(jobs))
            del jobs

    def _run(self, jobs: list[_Job]) -> list[_Done]:
        done: list[_Done] = []
        try:
            with self._writer.held_turn() as held:
                for _loop, _future, call, args in jobs:
                    try:
                        done.append((run_held(held, call, *args), None))
                    except BaseException as exc:  # handed to the awaiting request, raised there
                        done.append((None, exc))
        except BaseException as exc:  # the lane goes on: it answers every later write
            # The group did not commit (or no turn could be had): nobody's write was kept.
            failed: list[_Done] = [(None, error or exc) for _, error in done]
            return failed + [(None, exc) for _ in jobs[len(done) :]]
        return done

    @staticmethod
    def _answer(jobs: list[_Job], done: list[_Done]) -> None:
        by_loop: defaultdict[asyncio.AbstractEventLoop, list[_Outcome]] = defaultdict(list)
        for (loop, future, _call, _args), (result, error) in zip(jobs, done, strict=True):
            by_loop[loop].append((future, result, error))
        for loop, outcomes in by_loop.items():
            # A closed loop (RuntimeError) has nobody left waiting for the answers.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, outcomes)
