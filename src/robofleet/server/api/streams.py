"""A request body as a blocking file object, fed from the event loop.

Blob stores read uploads with `read(n)` in a worker thread. Starlette's `request.stream()`
is async; this bridge hands its chunks over through a small bounded queue, so at most a few
megabytes of a body are in memory at once, whatever its size, and nothing is written to a
temporary file on the way (Starlette's multipart parser would).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from robofleet.server.db.blobs import CHUNK

T = TypeVar("T")
_END = b""
_WAIT = 0.2


class BodyReader:
    """File-like `read(n)` over chunks put by `feed`; the feeder's error is raised here."""

    def __init__(self, depth: int = 4) -> None:
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=depth)
        self._pending = b""
        self._offset = 0
        self._ended = False
        self._error: BaseException | None = None
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        while self._offset >= len(self._pending) and not self._ended:
            if self._error is not None:
                raise self._error
            try:
                item = self._queue.get(timeout=_WAIT)
            except queue.Empty:
                continue
            if item is _END:
                self._ended = True
            else:
                self._pending, self._offset = item, 0
        # An offset, not slicing off the rest: a large item is never copied over and over.
        end = len(self._pending) if size < 0 else self._offset + size
        out = self._pending[self._offset : end]
        self._offset += len(out)
        return out

    def _put(self, item: bytes) -> None:
        while not self.closed:
            try:
                self._queue.put(item, timeout=_WAIT)
                return
            except queue.Full:
                continue

    async def feed(self, stream: AsyncIterator[bytes]) -> None:
        buffer = bytearray()
        try:
            async for chunk in stream:
                buffer += chunk
                if len(buffer) >= CHUNK:
                    await asyncio.to_thread(self._put, bytes(buffer))
                    buffer.clear()
            if buffer:
                await asyncio.to_thread(self._put, bytes(buffer))
            await asyncio.to_thread(self._put, _END)
        except BaseException as exc:  # the reader raises it in the consuming thread
            self._error = exc


async def consume_body(stream: AsyncIterator[bytes], work: Callable[[BodyReader], T]) -> T:
    """Run `work(reader)` in a thread while the body streams into the reader."""
    reader = BodyReader()
    feeder = asyncio.create_task(reader.feed(stream))
    try:
        return await asyncio.to_thread(work, reader)
    finally:
        reader.closed = True
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
