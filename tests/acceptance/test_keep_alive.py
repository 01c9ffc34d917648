"""An idle keep-alive connection stays open for ROBOFLEET_KEEP_ALIVE_SECONDS (75 s by
default), so a robot calling every few seconds reuses its connection instead of opening a new
one per call (uvicorn's own default closed it after 5 s)."""

from __future__ import annotations

import http.client
import select
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.server import ServerProcess


def _connection(server: ServerProcess) -> http.client.HTTPConnection:
    address = urlsplit(server.url)
    assert address.hostname is not None and address.port is not None
    return http.client.HTTPConnection(address.hostname, address.port, timeout=10)


def _get(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    return response.status


def _closed_by_server(sock: socket.socket) -> bool:
    """The server has closed its side: the socket reads as ended (nothing else is sent)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""


def test_an_idle_connection_outlives_uvicorns_five_seconds(server: ServerProcess) -> None:
    connection = _connection(server)
    try:
        assert _get(connection) == 200
        sock = connection.sock
        assert sock is not None
        time.sleep(6.5)
        assert not _closed_by_server(sock)
        assert _get(connection) == 200
        assert connection.sock is sock  # the same connection served the second call
    finally:
        connection.close()


def test_the_keep_alive_is_a_setting(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", env={"ROBOFLEET_KEEP_ALIVE_SECONDS": "1"})
    server.start()
    try:
        connection = _connection(server)
        assert _get(connection) == 200
        sock = connection.sock
        assert sock is not None
        time.sleep(2.5)
        assert _closed_by_server(sock)
        connection.close()
    finally:
        server.stop()
