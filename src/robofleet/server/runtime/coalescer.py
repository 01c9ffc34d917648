"""Calls that arrive while another of the same key runs wait for it, then run together as one.

A call finding nothing of its key running runs alone, at once, as it would without this: a
lone caller waits for nobody. Calls of that key arriving meanwhile queue; when the running one
ends, up to `most` of them run as one group (`together`, given their members in arrival
order, answers each), and calls arriving during that group form the next. So at most one run
of a key is under way at a time, and the busier the key, the more each run carries: the
batching a group commit does for writes, here for PostgreSQL's takes of one queue
(services.tasks.on_driver), where statements of one queue run side by side only skip each
other's locked rows.

Everything runs on the server's event loop: no lock is needed. A member whose caller has gone
(its future cancelled) is left out of its group."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

KeyT = TypeVar("KeyT", bound=Hashable)
MemberT = TypeVar("MemberT")
ResultT = TypeVar("ResultT")

Together = Callable[[list[MemberT]], Awaitable[list[ResultT]]]


@dataclass
class _Waiting(Generic[MemberT, ResultT]):
    together: Together[MemberT, ResultT]
    members: list[tuple[MemberT, asyncio.Future[ResultT]]] = field(default_factory=list)


@dataclass
class Coalescer(Generic[KeyT, MemberT, ResultT]):
    most: int
    """The most members one group carries; the rest wait for the next."""
    alone: int = 0
    """Calls that ran alone (nothing of their key was running)."""
    groups: int = 0
    grouped: int = 0
    """Groups run, and the members they carried."""
    _running: set[KeyT] = field(default_factory=set)
    _waiting: dict[KeyT, _Waiting[MemberT, ResultT]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(
        self,
        key: KeyT,
        member: MemberT,
        alone: Callable[[MemberT], Awaitable[ResultT]],
        together: Together[MemberT, ResultT],
    ) -> ResultT:
        if key not in self._running:
            self._running.add(key)
            self.alone += 1
            try:
                return await alone(member)
            finally:
                self._next(key)
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = _Waiting(together)
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        waiting.members.append((member, future))
        return await future

    def waiting(self, key: KeyT | None = None) -> int:
        """Calls of `key` (None: of every key) waiting for a run under way to end."""
        if key is None:
            return sum(self.waiting(each) for each in self._waiting)
        waiting = self._waiting.get(key)
        members = waiting.members if waiting is not None else []
        return sum(not future.done() for _, future in members)

    def _next(self, key: KeyT) -> None:
        """The key's run ended: start its waiting members' group, or mark it idle."""
        waiting = self._waiting.get(key)
        live = [pair for pair in waiting.members if not pair[1].done()] if waiting else []
        if waiting is None or not live:
            self._waiting.pop(key, None)
            self._running.discard(key)
            return
        batch, waiting.members = live[: self.most], live[self.most :]
        if not waiting.members:
            del self._waiting[key]
        task = asyncio.get_running_loop().create_task(self._group(key, waiting.together, batch))
        self._tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    async def _group(
        self,
        key: KeyT,
        together: Together[MemberT, ResultT],
        batch: list[tuple[MemberT, asyncio.Future[ResultT]]],
    ) -> None:
        self.groups += 1
        self.grouped += len(batch)
        try:
            results = await together([member for member, _ in batch])
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # each member's caller answers it, as if its own call failed
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._next(key)
