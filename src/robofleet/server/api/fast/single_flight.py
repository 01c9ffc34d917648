"""One run of a lookup for all who ask for the same key while it runs.

A fleet's first calls after a start all miss the credential cache, and a robot sends its next
calls before its first is answered; without sharing, each of those calls queued its own lookup
of the same credential, the lookups slowed the answers, and slower answers let more calls miss.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

ValueT = TypeVar("ValueT")


class SingleFlight(Generic[ValueT]):
    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[ValueT]] = {}

    async def run(self, key: Hashable, start: Callable[[], Awaitable[ValueT]]) -> ValueT:
        """`start()`'s result, or the result of the run already under way for `key`; an error
        reaches every caller. A caller that goes away does not stop the run the others await."""
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(start())
            self._running[key] = running
            running.add_done_callback(lambda _: self._running.pop(key, None))
        return await asyncio.shield(running)

    def __len__(self) -> int:
        return len(self._running)
