"""uvicorn's httptools protocol with each response's writes gathered into one.

uvicorn writes a response's head when the app sends `http.response.start` and its body when
the app sends `http.response.body`: two `send` system calls for every small answer, each made
holding the GIL, and on the robot path (thousands of small answers a second in one process)
those calls were a quarter of the GIL-held samples. Here the transport gathers what is written
in one turn of the event loop and sends it in one call at the end of the turn: the head and
the body of an answer leave together. A write that would gather more than FLUSH_BYTES goes out
at once, so a large download meets the transport's flow control as before, and closing the
connection sends what was gathered first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

FLUSH_BYTES = 64 * 1024


class GatheringTransport:
    """A stand-in for the connection's transport whose writes leave at the end of the loop's
    turn, as one; everything else is the transport's own."""

    __slots__ = ("_loop", "_pending", "_size", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))  # a caller's buffer may change once it is back
        self._size += len(data)
        if self._size > FLUSH_BYTES:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        self._size = 0
        if self.transport.is_closing():  # the client left: nothing to send it
            return
        self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + self._size

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self._pending = []
        self._size = 0
        self.transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class GatheringHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's `http="httptools"` protocol, writing through a GatheringTransport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = GatheringTransport(transport, self.loop)  # type: ignore[assignment]
