"""Answers written through the gathering transport (server.http_protocol) arrive whole and in
order over a real socket: pipelined requests on one connection, an answer larger than one
gathering, and an answer on a connection the client asked to close."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from tests.support.server import ServerProcess


def _socket(server: ServerProcess) -> socket.socket:
    address = urlsplit(server.url)
    assert address.hostname is not None and address.port is not None
    return socket.create_connection((address.hostname, address.port), timeout=10)


def _request(path: str, *, close: bool = False) -> bytes:
    connection = b"connection: close\r\n" if close else b""
    return b"GET " + path.encode() + b" HTTP/1.1\r\nhost: robofleet\r\n" + connection + b"\r\n"


def _responses(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """`count` whole responses read off the socket: (status line, body), framed by their
    content-length."""
    buffer = b""
    answers: list[tuple[bytes, bytes]] = []
    while len(answers) < count:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = buffer[:end].split(b"\r\n")
            headers = dict(line.split(b": ", 1) for line in head[1:])
            length = int(headers[b"content-length"])
            if len(buffer) >= end + 4 + length:
                answers.append((head[0], buffer[end + 4 : end + 4 + length]))
                buffer = buffer[end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {len(answers)} answers"
        buffer += chunk
    assert buffer == b""
    return answers


def test_pipelined_requests_are_answered_whole_and_in_order(server: ServerProcess) -> None:
    paths = ["/healthz", "/readyz", "/healthz", "/no-such-page"] * 5
    with _socket(server) as sock:
        sock.sendall(b"".join(_request(path) for path in paths))
        answers = _responses(sock, len(paths))
    statuses = [status.split(b" ")[1] for status, _ in answers]
    assert statuses == [b"200", b"200", b"200", b"404"] * 5
    for (_, body), path in zip(answers, paths, strict=True):
        json.loads(body)  # each body whole, none cut or run into the next
        if path == "/no-such-page":
            assert b"404" in body


def test_an_answer_larger_than_one_gathering_arrives_whole(server: ServerProcess) -> None:
    with _socket(server) as sock:
        sock.sendall(_request("/openapi.json"))
        ((status, body),) = _responses(sock, 1)
    assert status.startswith(b"HTTP/1.1 200")
    assert len(body) > 64 * 1024
    assert "paths" in json.loads(body)


def test_an_answer_on_a_closing_connection_is_sent_before_the_close(
    server: ServerProcess,
) -> None:
    with _socket(server) as sock:
        sock.sendall(_request("/healthz", close=True))
        ((status, body),) = _responses(sock, 1)
        assert sock.recv(1) == b""  # then the server closed its side
    assert status.startswith(b"HTTP/1.1 200")
    assert json.loads(body)
