"""SQLite's writes from the front on one thread, many to a commit.

On the front's worker threads each write took a turn of the group writer on its own: a hop to
a thread, a wait on the turn's lock, a wait on the group's commit and a hop back, each a
context switch or two, for a write of a few statements. Here one thread takes every write
waiting, runs them one after the other in ONE held turn of the group writer (each in its own
savepoint: one that fails undoes only its own work), and once that group has committed
answers them all with one wake-up of the loop. An answer still means "stored".

A call that needs a turn of its own (a session write: the service's fallback from its lean
statements) raises TurnHeld here with nothing kept; it runs again on the worker threads.

A call that only runs statements (a lean take, finish, add, heartbeat or log batch) is run on
the event loop's own thread instead (run_here), the calls that arrived in one turn of the
loop in one group. On the lane's thread such a write spent more time waiting for the GIL
than running: the loop's thread took the GIL back each time SQLite let go of it (every
statement step), and the lane waited for it again. The group's COMMIT (and its sync to disk)
runs on a thread of its own, so the loop goes on meanwhile and the calls that arrive make the
next group; run on the loop, the COMMITs of a fleet's many small groups, each with its sync,
took about half of the loop's time. The loop never waits on another thread for the writer's
turn: when another thread has it, the calls try again each millisecond, and after
HERE_PATIENCE go to the lane.
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
from robofleet.server.db.group_writer import (
    MAX_GROUP,
    GroupWriter,
    HeldTurn,
    TakenTurn,
    TurnHeld,
)
from robofleet.server.db.raw_write import run_held

HERE_RETRY = 0.001
"""Seconds before run_here tries for the writer's turn again, when another thread had it."""
HERE_PATIENCE = 0.05
"""Seconds run_here keeps trying before it hands its calls to the lane's thread."""

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]
_Done = tuple[Any, BaseException | None]
"""A call's result, or what it raised."""
_Commit = tuple[asyncio.AbstractEventLoop, TakenTurn, list[_Job], list[_Done]]


def _settle_all(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        settle(future, result, error)


class WriteLane:
    def __init__(
        self,
        writer: GroupWriter,
        elsewhere: Callable[..., Awaitable[Any]],
        max_calls: int = MAX_GROUP,
        patience: float = HERE_PATIENCE,
    ) -> None:
        self._writer = writer
        self._elsewhere = elsewhere
        """Runs a call that needs a turn of its own: elsewhere(call, *args)."""
        self._max_calls = max_calls
        self._patience = patience
        self._inbox: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._here: list[_Job] = []
        """Calls for run_here, waiting for the loop's next turn."""
        self._here_scheduled = False
        self._committing = False
        """A run_here group is being committed (on the write-commit thread)."""
        self._committer: threading.Thread | None = None
        self._commits: queue.SimpleQueue[_Commit] = queue.SimpleQueue()
        self._busy_since: float | None = None
        """When run_here first found another thread holding the writer's turn (loop time)."""

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """`call(*args)`, answered once the group holding its writes has committed; raises
        what it raised. A call that needs a turn of its own runs again, whole, elsewhere:
        nothing of its first run was kept."""
        try:
            return await self._on_lane(call, args)
        except TurnHeld:
            return await self._elsewhere(call, *args)

    async def run_here(self, call: Callable[..., Any], *args: Any) -> Any:
        """As run, for a call whose only blocking work is SQLite statements: on the event
        loop's thread, with the others that arrive in the same turn of the loop."""
        try:
            return await self._on_loop(call, args)
        except TurnHeld:
            return await self._elsewhere(call, *args)

    async def _on_lane(self, call: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._to_lane((loop, future, call, args))
        return await future

    def _to_lane(self, job: _Job) -> None:
        if self._thread is None:
            self._start()
        self._inbox.put(job)

    async def _on_loop(self, call: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._here.append((loop, future, call, args))
        self._schedule_here(loop)
        return await future

    def _schedule_here(self, loop: asyncio.AbstractEventLoop) -> None:
        """A run of the waiting calls at the loop's next turn, unless one is due already."""
        if not self._here_scheduled:
            self._here_scheduled = True
            loop.call_soon(self._run_here, loop)

    def _run_here(self, loop: asyncio.AbstractEventLoop) -> None:
        self._here_scheduled = False
        if self._committing:  # the group before is being committed: its end runs this one
            return
        try:
            taken = self._writer.take_turn_if_free()
        except BaseException as exc:  # no group could be opened: the first calls hear why
            jobs = self._next_here(loop)
            self._settle_here(jobs, [(None, exc)] * len(jobs))
            return
        if taken is None:
            self._turn_taken(loop)
            return
        self._busy_since = None
        jobs = self._next_here(loop)
        with self._writer.holding(taken) as held:
            done = self._run_calls(held, jobs)
        # The COMMIT and its sync on a thread of their own: the loop goes on meanwhile, and
        # the calls that arrive make the next group.
        self._committing = True
        if self._committer is None:
            self._committer = threading.Thread(
                target=self._commit_work, name="write-commit", daemon=True
            )
            self._committer.start()
        self._commits.put((loop, taken, jobs, done))

    def _next_here(self, loop: asyncio.AbstractEventLoop) -> list[_Job]:
        """The next group's calls, off the waiting list (a turn for the rest is asked for)."""
        jobs = self._here[: self._max_calls]
        del self._here[: self._max_calls]
        if self._here:
            self._schedule_here(loop)
        return jobs

    def _commit_work(self) -> None:
        while True:
            loop, taken, jobs, done = self._commits.get()
            error: BaseException | None = None
            try:
                self._writer.end_taken_turn(taken)
            except BaseException as exc:  # every call of the group hears it
                error = exc
            # A closed loop (RuntimeError) has nobody left waiting for the answers.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._committed_here, loop, jobs, done, error)
            del loop, taken, jobs, done, error

    def _committed_here(
        self,
        loop: asyncio.AbstractEventLoop,
        jobs: list[_Job],
        done: list[_Done],
        error: BaseException | None,
    ) -> None:
        self._committing = False
        if error is not None:  # the group did not commit: nobody's write was kept
            done = [(None, own or error) for _, own in done]
        self._settle_here(jobs, done)
        if self._here:
            self._schedule_here(loop)

    @staticmethod
    def _settle_here(jobs: list[_Job], done: list[_Done]) -> None:
        for (_loop, future, _call, _args), (result, error) in zip(jobs, done, strict=True):
            settle(future, result, error)

    def _turn_taken(self, loop: asyncio.AbstractEventLoop) -> None:
        """Another thread has the writer's turn (a session write, or the lane's own group):
        try again shortly rather than wait for it. Handing the calls to the lane instead
        kept the turn on the lane's thread: each group found the next one queued there."""
        now = loop.time()
        if self._busy_since is None:
            self._busy_since = now
        if now - self._busy_since < self._patience:
            self._here_scheduled = True
            loop.call_later(HERE_RETRY, self._run_here, loop)
            return
        # A long stream of other writes: the lane's thread takes its turn after them.
        self._busy_since = None
        jobs, self._here = self._here, []
        for job in jobs:
            self._to_lane(job)

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
        """Each job's outcome, its writes committed in one group."""
        done: list[_Done] = []
        try:
            with self._writer.held_turn() as held:
                done = self._run_calls(held, jobs)
        except BaseException as exc:  # the lane goes on: it answers every later write
            # The group did not commit (or no turn could be had): nobody's write was kept.
            failed: list[_Done] = [(None, error or exc) for _, error in done]
            return failed + [(None, exc) for _ in jobs[len(done) :]]
        return done

    @staticmethod
    def _run_calls(held: HeldTurn, jobs: list[_Job]) -> list[_Done]:
        done: list[_Done] = []
        for _loop, _future, call, args in jobs:
            try:
                done.append((run_held(held, call, *args), None))
            except BaseException as exc:  # handed to the awaiting request, raised there
                done.append((None, exc))
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
