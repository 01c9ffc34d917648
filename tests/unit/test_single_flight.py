"""Calls for one key while its lookup runs share that one run (api.fast.single_flight)."""

from __future__ import annotations

import asyncio

import pytest

from robofleet.server.api.fast.single_flight import SingleFlight


async def _turns() -> None:
    """Let every ready task run (a caller, then the lookup it started)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Lookup:
    """A lookup that waits until released, counting its runs."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()

    async def __call__(self, value: str) -> str:
        self.runs += 1
        await self.release.wait()
        if value == "bad":
            raise LookupError(value)
        return value.upper()


def test_calls_while_a_lookup_runs_share_it_and_a_later_call_runs_again() -> None:
    asyncio.run(_calls_while_a_lookup_runs_share_it_and_a_later_call_runs_again())


async def _calls_while_a_lookup_runs_share_it_and_a_later_call_runs_again() -> None:
    flight: SingleFlight[str] = SingleFlight()
    lookup = Lookup()
    waiting = [asyncio.ensure_future(flight.run("a", lambda: lookup("a"))) for _ in range(5)]
    other = asyncio.ensure_future(flight.run("b", lambda: lookup("b")))
    await _turns()
    assert lookup.runs == 2 and len(flight) == 2
    lookup.release.set()
    assert await asyncio.gather(*waiting) == ["A"] * 5 and await other == "B"
    await _turns()
    assert len(flight) == 0
    assert await flight.run("a", lambda: lookup("a")) == "A" and lookup.runs == 3


def test_an_error_reaches_every_caller() -> None:
    asyncio.run(_an_error_reaches_every_caller())


async def _an_error_reaches_every_caller() -> None:
    flight: SingleFlight[str] = SingleFlight()
    lookup = Lookup()
    waiting = [asyncio.ensure_future(flight.run("k", lambda: lookup("bad"))) for _ in range(3)]
    await _turns()
    lookup.release.set()
    for outcome in await asyncio.gather(*waiting, return_exceptions=True):
        assert isinstance(outcome, LookupError)
    assert lookup.runs == 1


def test_a_caller_that_goes_away_does_not_stop_the_others_lookup() -> None:
    asyncio.run(_a_caller_that_goes_away_does_not_stop_the_others_lookup())


async def _a_caller_that_goes_away_does_not_stop_the_others_lookup() -> None:
    flight: SingleFlight[str] = SingleFlight()
    lookup = Lookup()
    first = asyncio.ensure_future(flight.run("k", lambda: lookup("k")))
    second = asyncio.ensure_future(flight.run("k", lambda: lookup("k")))
    await _turns()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    lookup.release.set()
    assert await second == "K" and lookup.runs == 1
