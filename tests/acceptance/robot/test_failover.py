"""Several servers in ROBOFLEET_SERVER: the agent's client and the SDK use the first that
answers and move to the next on a network error or a 502/503/504; a bad URL is named."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from robofleet.contract import server_urls
from robofleet.robot.client import RobotClient
from robofleet.robot.config import AgentSettingsError, load_agent_settings
from robofleet.robot.logship import LogLine, LogShipper
from robofleet.robot.servers import ServerList
from robofleet.sdk import context, http

GUID = "0b7c2a55-3f4e-4a36-9d4c-6c2f3e1a9b10"
KEY = "3f2a8c1e-5b7d-4e9f-a1c2-0d3e4f5a6b7c"


def test_a_list_of_urls_is_split_trimmed_and_checked() -> None:
    assert server_urls("http://a:8000/") == ["http://a:8000"]
    assert server_urls(" http://a:8000 , https://b/ ,http://a:8000") == [
        "http://a:8000",
        "https://b",
    ]
    with pytest.raises(ValueError, match="'ftp://b' is not an http:// or https:// URL"):
        server_urls("http://a:8000,ftp://b")
    with pytest.raises(ValueError, match="must be an http:// or https:// URL"):
        server_urls(" , ")


def test_agent_settings_take_a_list_and_name_the_bad_url() -> None:
    settings = load_agent_settings(server="http://a:8000/, http://b:8000", robot_guid=GUID)
    assert settings.server == "http://a:8000,http://b:8000"
    with pytest.raises(AgentSettingsError) as caught:
        load_agent_settings(server="http://a:8000,b:8000", robot_guid=GUID)
    assert "ROBOFLEET_SERVER: 'b:8000' is not an http:// or https:// URL" in str(caught.value)


class Nodes:
    """A mock transport for nodes a, b, c: `down` refuse connections, `answers` give a status."""

    def __init__(self, down: set[str], answers: dict[str, int] | None = None) -> None:
        self.down = down
        self.answers = answers or {}
        self.calls: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.calls.append(host)
        if host in self.down:
            raise httpx.ConnectError("connection refused")
        status = self.answers.get(host, 200)
        return httpx.Response(status, json={"HeartbeatErrorCode": 0, "count": 1})

    def client(self, servers: str | ServerList) -> RobotClient:
        return RobotClient(servers, GUID, transport=httpx.MockTransport(self.handler))


def test_the_client_moves_on_from_a_node_that_refuses_connections() -> None:
    nodes = Nodes(down={"a"})
    with nodes.client("http://a,http://b,http://c") as client:
        client.heartbeat(1, retry=0)
        client.heartbeat(1, retry=0)
        assert client.server == "http://b"
    assert nodes.calls == ["a", "b", "b"]  # at once, and it stays with the node that answered


def test_a_502_503_504_moves_on_and_a_500_is_retried_on_the_same_node() -> None:
    for status in (502, 503, 504):
        nodes = Nodes(down=set(), answers={"a": status})
        with nodes.client("http://a,http://b") as client:
            client.heartbeat(1, retry=0)
        assert nodes.calls == ["a", "b"]
    nodes = Nodes(down=set(), answers={"a": 500})
    with nodes.client("http://a,http://b") as client, pytest.raises(Exception, match="500"):
        client.heartbeat(1, retry=0)
    assert nodes.calls == ["a"]


def test_when_every_node_is_down_a_call_gives_up_after_one_round() -> None:
    nodes = Nodes(down={"a", "b"})
    with nodes.client("http://a,http://b") as client, pytest.raises(Exception, match="refused"):
        client.heartbeat(1, retry=0)
    assert nodes.calls == ["a", "b"]


def test_clients_of_one_agent_share_the_node_they_use() -> None:
    nodes = Nodes(down={"a"})
    servers = ServerList.parse("http://a,http://b")
    with nodes.client(servers) as first, nodes.client(servers) as second:
        first.heartbeat(1, retry=0)
        second.send_logs([{"Message": "m"}])
    assert nodes.calls == ["a", "b", "b"]  # the second never tried the dead node
    assert servers.from_current() == ["http://b", "http://a"]  # what a job is given


def test_the_log_shipper_fails_over_and_keeps_its_lines() -> None:
    nodes = Nodes(down={"a"}, answers={"b": 503})
    shipper = LogShipper(nodes.client("http://a,http://b,http://c"))  # the default interval
    shipper.start()
    try:
        for n in range(50):
            shipper.add(LogLine("Info", f"line {n}"))
        assert shipper.flush(timeout=30)
    finally:
        shipper.close()
    assert nodes.calls == ["a", "b", "c"]  # 50 lines, one post, delivered by the third node


@pytest.fixture
def live_node() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A node that answers every POST with its body."""
    seen: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = b'{"count": 1}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()


def dead_url() -> str:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_sdk_skips_a_dead_node_and_starts_at_the_one_that_answered(
    monkeypatch: pytest.MonkeyPatch, live_node: tuple[str, list[dict[str, object]]]
) -> None:
    url, seen = live_node
    dead = dead_url()
    monkeypatch.setenv(context.SERVER, f"{dead},{url}")
    monkeypatch.setenv("ROBOFLEET_API_KEY", KEY)
    monkeypatch.delenv(context.ROBOT_GUID, raising=False)
    monkeypatch.setattr(http, "_answered", None)
    assert http.call("POST", "/api/log/batch", {"n": 1}) == {"count": 1}
    assert http.servers() == [url, dead]
    assert http.call("POST", "/api/log/batch", {"n": 2}) == {"count": 1}
    assert seen == [{"n": 1}, {"n": 2}]


def test_the_sdk_names_a_bad_url_of_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(context.SERVER, "http://a:8000,a-host:8000")
    monkeypatch.setenv("ROBOFLEET_API_KEY", KEY)
    with pytest.raises(http.NotConfigured, match="'a-host:8000' is not an http"):
        http.call("GET", "/api/job/read/x")
