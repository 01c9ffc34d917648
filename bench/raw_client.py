"""The queue drain's client: HTTP/1.1 over one keep-alive socket, written by hand.

`http.client` parses every response's headers with the email package: in the one-per-call
drain (`python -m bench.drain_cpu --store sqlite --batch 1 --takers 8`) the takers spent
0.31 ms of CPU per task that way (take and finish), 0.12 ms with this client, on a 2-core
machine whose other core the server and its database need.
Load generators for web servers (wrk, h2load) are written to cost next to nothing; so is this
one, for the few answers the drain reads: a status line, headers with a Content-Length, a JSON
body. Anything else (chunked, no length, a closed socket mid-answer) raises.
"""

from __future__ import annotations

import json
import socket
from typing import Any

_HEAD_END = b"\r\n\r\n"


class RawClient:
    def __init__(self, url: str, key: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.prefix = f"Host: {host}\r\nContent-Type: application/json\r\nKey: {key}\r\n"
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=120)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""
        return sock

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        request = (
            f"POST {path} HTTP/1.1\r\n{self.prefix}Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        return self._exchange(request)

    def get(self, path: str) -> tuple[int, Any]:
        return self._exchange(f"GET {path} HTTP/1.1\r\n{self.prefix}\r\n".encode())

    def _exchange(self, request: bytes) -> tuple[int, Any]:
        sock = self.sock or self._connect()
        try:
            sock.sendall(request)
            return self._response(sock)
        except (BrokenPipeError, ConnectionResetError, _Closed):
            # The server closed an idle keep-alive connection: once more on a new one.
            sock.close()
            sock = self._connect()
            sock.sendall(request)
            return self._response(sock)

    def _response(self, sock: socket.socket) -> tuple[int, Any]:
        buffer = self.buffer
        while (end := buffer.find(_HEAD_END)) < 0:
            buffer += self._recv(sock, buffer)
        head = buffer[:end].decode("latin-1").lower()
        status = int(head[9:12])
        marker = head.find("content-length:")
        if marker < 0:
            raise RuntimeError(f"an answer without a Content-Length: {head!r}")
        line_end = head.find("\r\n", marker)
        length = int(head[marker + 15 : line_end if line_end >= 0 else None])
        start = end + len(_HEAD_END)
        while len(buffer) < start + length:
            buffer += self._recv(sock, buffer)
        body, self.buffer = buffer[start : start + length], buffer[start + length :]
        return status, (json.loads(body) if body else None)

    @staticmethod
    def _recv(sock: socket.socket, buffer: bytes) -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            if buffer:
                raise RuntimeError("the server closed the connection mid-answer")
            raise _Closed
        return chunk


class _Closed(Exception):
    """The connection closed before an answer began."""
