"""The lean pool's free list and waiters (db.connection_slots), with counting stand-ins for
connections: which connection a caller gets, when one is made, when a waiter gives up."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from robofleet.server.db.connection_slots import ConnectionSlots, SlotTimeout


class Made:
    def __init__(self) -> None:
        self.numbers = itertools.count(1)
        self.closed: list[int] = []
        self.fail = False

    async def connect(self) -> int:
        await asyncio.sleep(0)
        if self.fail:
            raise OSError("refused")
        return next(self.numbers)

    async def close(self, connection: int) -> None:
        self.closed.append(connection)


def _slots(made: Made, max_size: int = 2, wait: float = 5.0) -> ConnectionSlots[int]:
    return ConnectionSlots(made.connect, made.close, max_size=max_size, wait_seconds=wait)


def test_a_returned_connection_is_used_again_before_a_new_one_is_made() -> None:
    async def run() -> list[int]:
        made = Made()
        slots = _slots(made)
        first = await slots.get()
        slots.put(first)
        again = await slots.get()
        other = await slots.get()  # the first is busy: room for one more
        return [first, again, other, slots.size]

    assert asyncio.run(run()) == [1, 1, 2, 2]


def test_a_caller_waits_for_a_connection_when_all_are_busy_and_gets_the_one_returned() -> None:
    async def run() -> tuple[int, int]:
        made = Made()
        slots = _slots(made, max_size=1)
        busy = await slots.get()
        waiting = asyncio.ensure_future(slots.get())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        slots.put(busy)
        return await waiting, slots.size

    assert asyncio.run(run()) == (1, 1)


def test_a_caller_asking_first_gets_the_next_connection_ahead_of_those_waiting() -> None:
    async def run() -> list[str]:
        made = Made()
        slots = _slots(made, max_size=1)
        busy = await slots.get()
        served: list[str] = []

        async def caller(name: str, first: bool) -> None:
            connection = await slots.get(first=first)
            served.append(name)
            slots.put(connection)

        callers = [
            asyncio.ensure_future(caller("single 1", False)),
            asyncio.ensure_future(caller("single 2", False)),
        ]
        await asyncio.sleep(0.01)  # both wait, in their order
        callers.append(asyncio.ensure_future(caller("group", True)))
        await asyncio.sleep(0.01)
        slots.put(busy)
        await asyncio.gather(*callers)
        return served

    assert asyncio.run(run()) == ["group", "single 1", "single 2"]


def test_a_waiter_gives_up_after_the_wait_and_the_pool_still_serves() -> None:
    async def run() -> int:
        made = Made()
        slots = _slots(made, max_size=1, wait=0.05)
        busy = await slots.get()
        with pytest.raises(SlotTimeout):
            await slots.get()
        slots.put(busy)  # no live waiter left: back to the free list
        return await slots.get()

    assert asyncio.run(run()) == 1


def test_a_discarded_connection_is_closed_and_its_slot_goes_to_a_waiter_who_connects() -> None:
    async def run() -> tuple[int, list[int], int]:
        made = Made()
        slots = _slots(made, max_size=1)
        broken = await slots.get()
        waiting = asyncio.ensure_future(slots.get())
        await asyncio.sleep(0.01)
        slots.discard(broken)
        fresh = await waiting
        await asyncio.sleep(0.01)
        return fresh, made.closed, slots.size

    assert asyncio.run(run()) == (2, [1], 1)


def test_a_cancelled_waiter_passes_on_what_it_was_handed() -> None:
    async def run() -> tuple[int, int]:
        made = Made()
        slots = _slots(made, max_size=1)
        busy = await slots.get()
        first = asyncio.ensure_future(slots.get())
        second = asyncio.ensure_future(slots.get())
        await asyncio.sleep(0.01)
        slots.put(busy)  # handed to the first waiter...
        first.cancel()  # ...which is cancelled before it runs again
        got = await asyncio.wait_for(second, 1)
        return got, slots.size

    assert asyncio.run(run()) == (1, 1)


def test_a_failed_connect_frees_its_slot() -> None:
    async def run() -> tuple[int, int]:
        made = Made()
        made.fail = True
        slots = _slots(made, max_size=1)
        with pytest.raises(OSError):
            await slots.get()
        made.fail = False
        return await slots.get(), slots.size

    assert asyncio.run(run()) == (1, 1)


def test_closing_closes_the_idle_connections_and_fails_the_waiters() -> None:
    async def run() -> tuple[list[int], bool]:
        made = Made()
        slots = _slots(made, max_size=2)
        idle, busy = await slots.get(), await slots.get()
        slots.put(idle)
        waiting = asyncio.ensure_future(slots.get())
        await asyncio.sleep(0)  # takes the idle one
        third = asyncio.ensure_future(slots.get())
        await asyncio.sleep(0.01)
        await slots.close()
        with pytest.raises(SlotTimeout):
            await third
        slots.put(await waiting)
        slots.put(busy)
        await asyncio.sleep(0.01)
        return sorted(made.closed), slots.size == 0

    assert asyncio.run(run()) == ([1, 2], True)


def test_its_use_counts_connections_in_use_idle_and_callers_waiting() -> None:
    async def run() -> list[tuple[int, int, int, int]]:
        slots = _slots(Made(), max_size=2)
        seen = [tuple(slots.use())]
        first, second = await slots.get(), await slots.get()
        waiting = asyncio.ensure_future(slots.get())
        await asyncio.sleep(0.01)
        seen.append(tuple(slots.use()))  # both in use, one caller waiting
        slots.put(first)  # handed to the waiter
        await waiting
        seen.append(tuple(slots.use()))
        slots.put(waiting.result())
        slots.put(second)
        seen.append(tuple(slots.use()))
        return seen  # type: ignore[return-value]

    assert asyncio.run(run()) == [(0, 0, 2, 0), (2, 0, 2, 1), (2, 0, 2, 0), (0, 2, 2, 0)]
