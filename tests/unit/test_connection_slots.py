"""The lean pool's free list and queue (db.connection_slots), with counting stand-ins for
connections: which connection a statement runs on, when one is made, in what order queued
statements run, when a waiting caller gives up, what a failure does to its connection."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import pytest

from robofleet.server.db.connection_slots import ConnectionSlots, SlotTimeout


class Refused(Exception):
    """A statement refused: its connection stays fit for the next one."""


class Made:
    def __init__(self) -> None:
        self.numbers = itertools.count(1)
        self.closed: list[int] = []
        self.fail = False
        self.failures_left = 0
        """Connects that fail before they succeed again."""

    async def connect(self) -> int:
        await asyncio.sleep(0)
        if self.fail or self.failures_left:
            self.failures_left = max(0, self.failures_left - 1)
            raise OSError("refused")
        return next(self.numbers)

    async def close(self, connection: int) -> None:
        self.closed.append(connection)


def _slots(made: Made, max_size: int = 2, wait: float = 5.0) -> ConnectionSlots[int]:
    return ConnectionSlots(
        made.connect,
        made.close,
        max_size=max_size,
        wait_seconds=wait,
        reusable=lambda _connection, failure: isinstance(failure, Refused),
    )


async def _which(connection: int) -> int:
    return connection


def _held(release: asyncio.Event) -> Callable[[int], Awaitable[int]]:
    """A statement that keeps its connection until `release` is set."""

    async def work(connection: int) -> int:
        await release.wait()
        return connection

    return work


def _held_then_failing(
    release: asyncio.Event, failure: Exception
) -> Callable[[int], Awaitable[int]]:
    """A statement that keeps its connection until `release` is set, then raises `failure`."""

    async def work(connection: int) -> int:
        await release.wait()
        raise failure

    return work


async def _settle() -> None:
    await asyncio.sleep(0.01)


def test_a_freed_connection_is_used_again_before_a_new_one_is_made() -> None:
    async def run() -> list[int]:
        made = Made()
        slots = _slots(made)
        first = await slots.run(_which)
        again = await slots.run(_which)
        release = asyncio.Event()
        busy = asyncio.ensure_future(slots.run(_held(release)))
        await _settle()
        other = await slots.run(_which)  # the first is busy: room for one more
        release.set()
        return [first, again, other, await busy, slots.size]

    assert asyncio.run(run()) == [1, 1, 2, 1, 2]


def test_a_statement_waits_when_every_connection_is_busy_and_runs_on_the_one_freed() -> None:
    async def run() -> tuple[int, int]:
        slots = _slots(Made(), max_size=1)
        release = asyncio.Event()
        busy = asyncio.ensure_future(slots.run(_held(release)))
        await _settle()
        waiting = asyncio.ensure_future(slots.run(_which))
        await _settle()
        assert not waiting.done()
        release.set()
        await busy
        return await waiting, slots.size

    assert asyncio.run(run()) == (1, 1)


def test_a_queued_statement_starts_as_the_last_one_ends_before_its_caller_resumes() -> None:
    async def run() -> list[str]:
        slots = _slots(Made(), max_size=1)
        seen: list[str] = []
        release = asyncio.Event()

        async def caller(name: str) -> None:
            async def work(connection: int) -> None:
                seen.append(f"{name} starts")
                await release.wait()
                seen.append(f"{name} ends")

            await slots.run(work)
            seen.append(f"{name}'s caller resumes")

        callers = [asyncio.ensure_future(caller(name)) for name in ("a", "b", "c")]
        await _settle()
        release.set()
        await asyncio.gather(*callers)
        return seen

    order = asyncio.run(run())
    # a ran in its caller's task, which frees the connection to a task that serves the
    # queue: from there each statement starts in the step that ended the one before.
    assert order.index("c starts") == order.index("b ends") + 1
    assert order.index("c starts") < order.index("b's caller resumes")


def test_a_statement_asking_first_runs_ahead_of_those_queued() -> None:
    async def run() -> list[str]:
        slots = _slots(Made(), max_size=1)
        release = asyncio.Event()
        busy = asyncio.ensure_future(slots.run(_held(release)))
        served: list[str] = []

        def named(name: str) -> Callable[[int], Awaitable[None]]:
            async def work(connection: int) -> None:
                served.append(name)

            return work

        callers = [
            asyncio.ensure_future(slots.run(named("single 1"))),
            asyncio.ensure_future(slots.run(named("single 2"))),
        ]
        await _settle()  # both queued, in their order
        callers.append(asyncio.ensure_future(slots.run(named("group"), first=True)))
        await _settle()
        release.set()
        await asyncio.gather(busy, *callers)
        return served

    assert asyncio.run(run()) == ["group", "single 1", "single 2"]


def test_a_queued_statement_gives_up_after_the_wait_unrun_and_the_pool_still_serves() -> None:
    async def run() -> tuple[list[int], int]:
        slots = _slots(Made(), max_size=1, wait=0.05)
        release = asyncio.Event()
        busy = asyncio.ensure_future(slots.run(_held(release)))
        await _settle()
        ran: list[int] = []

        async def remembered(connection: int) -> None:
            ran.append(connection)

        with pytest.raises(SlotTimeout):
            await slots.run(remembered)
        release.set()
        await busy
        return ran, await slots.run(_which)

    assert asyncio.run(run()) == ([], 1)


def test_a_cancelled_callers_queued_statement_is_not_run() -> None:
    async def run() -> tuple[list[int], int, int]:
        slots = _slots(Made(), max_size=1)
        release = asyncio.Event()
        busy = asyncio.ensure_future(slots.run(_held(release)))
        ran: list[int] = []

        async def remembered(connection: int) -> int:
            ran.append(connection)
            return connection

        gone = asyncio.ensure_future(slots.run(remembered))
        kept = asyncio.ensure_future(slots.run(_which))
        await _settle()
        gone.cancel()
        release.set()
        await busy
        return ran, await asyncio.wait_for(kept, 1), slots.size

    assert asyncio.run(run()) == ([], 1, 1)


def test_a_refused_statement_leaves_its_connection_in_use_for_the_next() -> None:
    async def run() -> tuple[int, int, list[int]]:
        made = Made()
        slots = _slots(made, max_size=1)
        release = asyncio.Event()
        refused = _held_then_failing(release, Refused("a key already taken"))
        first = asyncio.ensure_future(slots.run(refused))
        await _settle()
        queued_refused = asyncio.ensure_future(slots.run(refused))
        queued = asyncio.ensure_future(slots.run(_which))
        await _settle()
        release.set()
        for failing in (first, queued_refused):
            with pytest.raises(Refused):
                await failing
        return await queued, await slots.run(_which), made.closed

    assert asyncio.run(run()) == (1, 1, [])


def test_a_failed_connect_frees_its_slot() -> None:
    async def run() -> tuple[int, int]:
        made = Made()
        made.fail = True
        slots = _slots(made, max_size=1)
        with pytest.raises(OSError):
            await slots.run(_which)
        made.fail = False
        return await slots.run(_which), slots.size

    assert asyncio.run(run()) == (1, 1)


def test_a_failed_statements_connection_is_closed_and_the_next_queued_connects_once_each() -> None:
    """The lost connection is closed; its slot connects for the next statement queued, and a
    connect that fails fails that statement alone: the one after connects again."""

    async def run() -> tuple[int, list[int], int]:
        made = Made()
        slots = _slots(made, max_size=1)
        release = asyncio.Event()
        broken = asyncio.ensure_future(slots.run(_held_then_failing(release, OSError("lost"))))
        await _settle()
        unlucky = asyncio.ensure_future(slots.run(_which))
        later = asyncio.ensure_future(slots.run(_which))
        await _settle()
        made.failures_left = 1  # the database goes away with the connection, for one connect
        release.set()
        for failing in (broken, unlucky):
            with pytest.raises(OSError):
                await failing
        fresh = await later
        await _settle()
        return fresh, made.closed, slots.size

    assert asyncio.run(run()) == (2, [1], 1)


def test_closing_closes_the_idle_connections_and_fails_the_queued_statements() -> None:
    async def run() -> tuple[list[int], int, int]:
        made = Made()
        slots = _slots(made, max_size=2)
        release = asyncio.Event()
        busy = asyncio.ensure_future(slots.run(_held(release)))
        await _settle()
        assert await slots.run(_which) == 2  # made, then idle
        other = asyncio.ensure_future(slots.run(_held(release)))
        queued = asyncio.ensure_future(slots.run(_which))
        await _settle()
        closing = asyncio.ensure_future(slots.close())
        await _settle()
        with pytest.raises(SlotTimeout):
            await queued
        release.set()
        await asyncio.gather(busy, other, closing)
        with pytest.raises(SlotTimeout):
            await slots.run(_which)
        return sorted(made.closed), slots.size, len(made.closed)

    assert asyncio.run(run()) == ([1, 2], 0, 2)


def test_its_use_counts_connections_in_use_idle_and_statements_waiting() -> None:
    async def run() -> list[tuple[int, int, int, int]]:
        slots = _slots(Made(), max_size=2)
        seen = [tuple(slots.use())]
        release = asyncio.Event()
        busy = [asyncio.ensure_future(slots.run(_held(release))) for _ in range(2)]
        await _settle()
        waiting = asyncio.ensure_future(slots.run(_which))
        await _settle()
        seen.append(tuple(slots.use()))  # both in use, one statement waiting
        release.set()
        await asyncio.gather(*busy, waiting)
        seen.append(tuple(slots.use()))
        return seen  # type: ignore[return-value]

    assert asyncio.run(run()) == [(0, 0, 2, 0), (2, 0, 2, 1), (0, 2, 2, 0)]


def test_a_caller_cancelled_while_its_queued_statement_runs_stops_it_and_the_queue_goes_on() -> (
    None
):
    async def run() -> tuple[list[str], int, int]:
        slots = _slots(Made(), max_size=1)
        release = asyncio.Event()
        busy = asyncio.ensure_future(slots.run(_held(release)))
        await _settle()
        seen: list[str] = []

        async def slow(connection: int) -> None:
            seen.append("slow starts")
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                seen.append("slow stopped")
                raise

        gone = asyncio.ensure_future(slots.run(slow))
        kept = asyncio.ensure_future(slots.run(_which))
        await _settle()
        release.set()
        await busy
        await _settle()  # slow runs, on the task that serves the queue
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return seen, await asyncio.wait_for(kept, 1), slots.size

    # The stand-in's rule keeps a connection only after a refusal: the one left by the
    # stopped statement is closed and the next statement connects.
    assert asyncio.run(run()) == (["slow starts", "slow stopped"], 2, 1)
