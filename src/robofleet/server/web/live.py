"""Live pages: Server-Sent Events that tell a page its data changed.

A live region names a stream (`data-live-src`) and a fragment (`data-live-fragment`); the
stream sends a `change` event whenever a probe's answer differs from the last one, and the
script reloads the fragment, rendered by the same template as the full page. The probe is a
cheap service read (a count, a newest change time), asked once a second per open page. The
first event, `ready`, follows the stream's first probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Final

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

INTERVAL_SECONDS: Final = 1.0
KEEP_ALIVE_SECONDS: Final = 15.0
STREAM_HEADERS: Final = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def change_stream(
    request: Request, probe: Callable[[], Hashable], *, interval: float = INTERVAL_SECONDS
) -> StreamingResponse:
    """An event stream sending `change` each time `probe()` answers something new."""

    async def events() -> AsyncIterator[str]:
        last = await run_in_threadpool(probe)
        quiet = 0.0
        # `ready` tells the page the baseline is taken: it reloads once to cover what changed
        # between its render and this probe, and then only on `change`.
        yield "retry: 2000\n\nevent: ready\ndata: {}\n\n"
        while not await request.is_disconnected():
            await asyncio.sleep(interval)
            now = await run_in_threadpool(probe)
            if now != last:
                last, quiet = now, 0.0
                yield "event: change\ndata: {}\n\n"
            else:
                quiet += interval
                if quiet >= KEEP_ALIVE_SECONDS:
                    quiet = 0.0
                    yield ": keep-alive\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers=STREAM_HEADERS)


def event(name: str, data: str) -> str:
    """One Server-Sent Event; a multi-line `data` is split over data lines."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"
