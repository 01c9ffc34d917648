"""runtime.coalescer: a lone call runs alone at once; calls of its key that arrive meanwhile
run after it as one group, each answered with its own result; a group carries at most `most`;
a failure reaches every member of its group and frees the key; a caller gone is left out."""

from __future__ import annotations

import asyncio

import pytest

from robofleet.server.runtime.coalescer import Coalescer


class Calls:
    """alone / together that record what they ran and wait for `gate` before answering."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.ran: list[object] = []
        self.fail = False

    async def alone(self, member: str) -> str:
        self.ran.append(member)
        await self.gate.wait()
        return f"alone:{member}"

    async def together(self, members: list[str]) -> list[str]:
        self.ran.append(list(members))
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("the statement failed")
        return [f"group:{member}" for member in members]


def _call(
    coalescer: Coalescer[int, str, str], calls: Calls, key: int, member: str
) -> asyncio.Task[str]:
    return asyncio.create_task(coalescer.run(key, member, calls.alone, calls.together))


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_lone_call_runs_alone_and_the_calls_meanwhile_run_as_one_group() -> None:
    async def scenario() -> None:
        coalescer: Coalescer[int, str, str] = Coalescer(most=10)
        calls = Calls()
        first = _call(coalescer, calls, 1, "a")
        await _settle()
        later = [_call(coalescer, calls, 1, name) for name in ("b", "c", "d")]
        other_queue = _call(coalescer, calls, 2, "x")
        await _settle()
        assert calls.ran == ["a", "x"]  # another key does not wait
        assert coalescer.waiting(1) == 3
        calls.gate.set()
        assert await first == "alone:a"
        assert [await task for task in later] == ["group:b", "group:c", "group:d"]
        assert await other_queue == "alone:x"
        assert calls.ran == ["a", "x", ["b", "c", "d"]]
        assert (coalescer.alone, coalescer.groups, coalescer.grouped) == (2, 1, 3)
        # Idle again: the next call runs alone.
        assert await coalescer.run(1, "e", calls.alone, calls.together) == "alone:e"
        assert coalescer.waiting(1) == 0

    asyncio.run(scenario())


def test_a_group_carries_at_most_most_members() -> None:
    async def scenario() -> None:
        coalescer: Coalescer[int, str, str] = Coalescer(most=2)
        calls = Calls()
        first = _call(coalescer, calls, 1, "a")
        await _settle()
        later = [_call(coalescer, calls, 1, name) for name in "bcdef"]
        await _settle()
        calls.gate.set()
        await first
        assert [await task for task in later] == [f"group:{name}" for name in "bcdef"]
        assert calls.ran == ["a", ["b", "c"], ["d", "e"], ["f"]]

    asyncio.run(scenario())


def test_a_failure_reaches_every_member_and_frees_the_key() -> None:
    async def scenario() -> None:
        coalescer: Coalescer[int, str, str] = Coalescer(most=10)
        calls = Calls()
        calls.fail = True
        first = _call(coalescer, calls, 1, "a")
        await _settle()
        later = [_call(coalescer, calls, 1, name) for name in "bc"]
        await _settle()
        calls.gate.set()
        await first
        for task in later:
            with pytest.raises(RuntimeError, match="the statement failed"):
                await task
        calls.fail = False
        assert await coalescer.run(1, "d", calls.alone, calls.together) == "alone:d"

    asyncio.run(scenario())


def test_a_caller_gone_before_its_group_runs_is_left_out() -> None:
    async def scenario() -> None:
        coalescer: Coalescer[int, str, str] = Coalescer(most=10)
        calls = Calls()
        first = _call(coalescer, calls, 1, "a")
        await _settle()
        gone = _call(coalescer, calls, 1, "b")
        kept = _call(coalescer, calls, 1, "c")
        await _settle()
        gone.cancel()
        calls.gate.set()
        await first
        assert await kept == "group:c"
        assert calls.ran == ["a", ["c"]]
        # Only callers gone: nothing runs, and the key is free.
        calls.gate.clear()
        first = _call(coalescer, calls, 1, "d")
        await _settle()
        gone = _call(coalescer, calls, 1, "e")
        await _settle()
        gone.cancel()
        calls.gate.set()
        await first
        assert calls.ran == ["a", ["c"], "d"]
        assert coalescer.waiting(1) == 0
        assert await coalescer.run(1, "f", calls.alone, calls.together) == "alone:f"

    asyncio.run(scenario())
