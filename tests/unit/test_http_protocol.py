"""The gathering transport (server.http_protocol): a response's writes in one turn of the loop
leave as one write at the end of the turn, in order; a large one leaves at once; closing sends
what was gathered first; nothing is written to a connection the client has left."""

from __future__ import annotations

import asyncio
from typing import Any

from robofleet.server.http_protocol import FLUSH_BYTES, GatheringTransport


class RecordingTransport(asyncio.Transport):
    """The socket's transport as the loop gives it, keeping what it is asked to do."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.events.append("write")

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8080) if name == "sockname" else default


def _gathering() -> tuple[GatheringTransport, RecordingTransport]:
    transport = RecordingTransport()
    return GatheringTransport(transport, asyncio.get_running_loop()), transport


def test_a_head_and_its_body_leave_as_one_write_at_the_end_of_the_turn() -> None:
    async def main() -> tuple[list[bytes], list[bytes]]:
        gathering, transport = _gathering()
        gathering.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        gathering.write(b"{}")
        during = list(transport.writes)
        await asyncio.sleep(0)
        return during, transport.writes

    during, after = asyncio.run(main())
    assert during == []
    assert after == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


def test_each_turn_sends_its_own_writes_in_order() -> None:
    async def main() -> list[bytes]:
        gathering, transport = _gathering()
        gathering.write(b"a")
        await asyncio.sleep(0)
        gathering.write(b"b")
        gathering.write(bytearray(b"c"))
        await asyncio.sleep(0)
        return transport.writes

    assert asyncio.run(main()) == [b"a", b"bc"]


def test_a_buffer_changed_after_its_write_is_sent_as_it_was() -> None:
    async def main() -> list[bytes]:
        gathering, transport = _gathering()
        buffer = bytearray(b"first")
        gathering.write(buffer)
        buffer[:] = b"later"
        await asyncio.sleep(0)
        return transport.writes

    assert asyncio.run(main()) == [b"first"]


def test_a_large_write_leaves_at_once_so_flow_control_sees_it() -> None:
    async def main() -> tuple[list[bytes], int]:
        gathering, transport = _gathering()
        gathering.write(b"head")
        gathering.write(b"x" * FLUSH_BYTES)
        sent = list(transport.writes)
        gathering.write(b"tail")
        size = gathering.get_write_buffer_size()
        await asyncio.sleep(0)
        return sent, size

    sent, size = asyncio.run(main())
    assert sent == [b"head" + b"x" * FLUSH_BYTES]
    assert size == 7 + len(b"tail")  # the transport's own, and what is still gathered


def test_closing_sends_what_was_gathered_first() -> None:
    async def main() -> RecordingTransport:
        gathering, transport = _gathering()
        gathering.write(b"body")
        gathering.close()
        await asyncio.sleep(0)
        return transport

    transport = asyncio.run(main())
    assert transport.events == ["write", "close"]
    assert transport.writes == [b"body"]


def test_nothing_is_written_once_the_client_has_left() -> None:
    async def main() -> RecordingTransport:
        gathering, transport = _gathering()
        gathering.write(b"answer")
        transport.closing = True  # the connection was lost before the turn ended
        await asyncio.sleep(0)
        gathering.write(b"more")
        await asyncio.sleep(0)
        return transport

    assert asyncio.run(main()).writes == []


def test_the_rest_is_the_transports_own() -> None:
    async def main() -> Any:
        gathering, _ = _gathering()
        return gathering.get_extra_info("sockname")

    assert asyncio.run(main()) == ("127.0.0.1", 8080)
