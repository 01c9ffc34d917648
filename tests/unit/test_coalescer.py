"""runtime.coalescer: a lone call runs alone at once; calls of its key that arrive meanwhile
run after it as one group, each answered with its own result; a group carries at most `most`;
a failure reaches every member of its group and frees the key; a caller gone is left out."""

from __future__ import annotations

import asyncio

import pytest

from robofleet.server.runtime.coalescer import Coalescer


class Calls:
    """A coalescer whose alone / together record what they ran and wait for `gate` before
    answering."""

    def __init__(self, most: int) -> None:
        self.coalescer: Coalescer[int, str, str] = Coalescer(most=most)
        self.gate = asyncio.Event()
        self.ran: list[object] = []
        self.fail = False

    def call(self, key: int, member: str) -> asyncio.Task[str]:
        return asyncio.create_task(self.coalescer.run(key, member, self.alone, self.together))

    async def running(self, key: int, member: str) -> asyncio.Task[str]:
        """A call started and under way (alone, waiting for the gate)."""
        task = self.call(key, member)
        await _settle()
        return task

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


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_lone_call_runs_alone_and_the_calls_meanwhile_run_as_one_group() -> None:
    async def scenario() -> None:
        calls = Calls(most=10)
        first = await calls.running(1, "a")
        later = [calls.call(1, name) for name in ("b", "c", "d")]
        other_queue = calls.call(2, "x")
        await _settle()
        assert calls.ran == ["a", "x"]  # another key does not wait
        assert calls.coalescer.waiting(1) == 3
        calls.gate.set()
        assert await first == "alone:a"
        assert [await task for task in later] == ["group:b", "group:c", "group:d"]
        assert await other_queue == "alone:x"
        assert calls.ran == ["a", "x", ["b", "c", "d"]]
        assert (calls.coalescer.alone, calls.coalescer.groups, calls.coalescer.grouped) == (2, 1, 3)
        # Idle again: the next call runs alone.
        assert await calls.call(1, "e") == "alone:e"
        assert calls.coalescer.waiting(1) == 0

    asyncio.run(scenario())


def test_a_group_carries_at_most_most_members() -> None:
    async def scenario() -> None:
        calls = Calls(most=2)
        first = await calls.running(1, "a")
        later = [calls.call(1, name) for name in "bcdef"]
        await _settle()
        calls.gate.set()
        await first
        assert [await task for task in later] == [f"group:{name}" for name in "bcdef"]
        assert calls.ran == ["a", ["b", "c"], ["d", "e"], ["f"]]

    asyncio.run(scenario())


def test_a_failure_reaches_every_member_and_frees_the_key() -> None:
    async def scenario() -> None:
        calls = Calls(most=10)
        calls.fail = True
        first = await calls.running(1, "a")
        later = [calls.call(1, name) for name in "bc"]
        await _settle()
        calls.gate.set()
        await first
        for task in later:
            with pytest.raises(RuntimeError, match="the statement failed"):
                await task
        calls.fail = False
        assert await calls.call(1, "d") == "alone:d"

    asyncio.run(scenario())


def test_a_caller_gone_before_its_group_runs_is_left_out() -> None:
    async def scenario() -> None:
        calls = Calls(most=10)
        first = await calls.running(1, "a")
        gone = calls.call(1, "b")
        kept = calls.call(1, "c")
        await _settle()
        gone.cancel()
        calls.gate.set()
        await first
        assert await kept == "group:c"
        assert calls.ran == ["a", ["c"]]
        # Only callers gone: nothing runs, and the key is free.
        calls.gate.clear()
        first = await calls.running(1, "d")
        gone = calls.call(1, "e")
        await _settle()
        gone.cancel()
        calls.gate.set()
        await first
        assert calls.ran == ["a", ["c"], "d"]
        assert calls.coalescer.waiting(1) == 0
        assert await calls.call(1, "f") == "alone:f"

    asyncio.run(scenario())
