"""The agent's loop against a stand-in server: the order of protocol calls, stop and abort
from the server, shutdown, a server that refuses the start, and an unreachable final report."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from robofleet.robot.agent import Agent
from robofleet.robot.config import AgentSettings
from tests.acceptance.robot.fake_server import FakeServer

ROBOT = "0b7c2a55-3f4e-4a36-9d4c-6c2f3e1a9b10"

SCRIPT = b"""\
import sys, time
from robofleet import sdk
print("month", sdk.parameter("month"))
sdk.set_progress(30)
time.sleep(0.6)
sdk.set_return_value({"posted": 3})
"""

WAITS_FOR_STOP = b"""\
import signal, time
from robofleet import sdk
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("working", flush=True)
while not sdk.should_stop():
    time.sleep(0.05)
"""


class Running:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        self.code = self.agent.run()

    def stop(self) -> int | None:
        self.agent.request_shutdown()
        self.thread.join(30)
        assert not self.thread.is_alive()
        return self.code


Start = Callable[[FakeServer], "Running"]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    started: list[Running] = []

    def run(server: FakeServer) -> Running:
        settings = AgentSettings(
            server="http://server",
            robot_guid=ROBOT,
            work_dir=tmp_path / "work",
            cache_dir=tmp_path / "cache",
            heartbeat_interval=0.1,
            wait_timeout=1,
            stop_grace=5,
            log_flush_interval=0.05,
        )
        running = Running(Agent(settings, transport=server.transport))
        started.append(running)
        return running

    yield run
    for running in started:
        if running.thread.is_alive():
            running.stop()


def test_a_job_runs_and_its_result_is_reported_before_the_next_ready(start: Start) -> None:
    server = FakeServer(SCRIPT, parameters={"month": "2026-10"})
    agent = start(server)
    server.wait_until(lambda: server.final() is not None)
    server.wait_until(lambda: server.paths().count("/api/robot/heartbeat") > 20)
    assert agent.stop() == 0
    final = server.final()
    assert final is not None
    assert (final["Status"], final["ReturnValue"], final["Message"]) == (
        4,
        '{"posted": 3}',
        "exit code 0",
    )
    updates = server.updates()
    assert updates[0] == {"Guid": server.job_guid, "Status": 8}
    assert {"Guid": server.job_guid, "Progress": 30} in updates
    messages = [line["Message"] for line in server.logs]
    assert "month 2026-10" in messages
    calls = server.calls
    start_at = calls.index(("/api/job/update", {"Guid": server.job_guid, "Status": 8}))
    end_at = next(
        i for i, (p, b) in enumerate(calls) if p == "/api/job/update" and b.get("Status") == 4
    )
    during = [b for p, b in calls[start_at:end_at] if p == "/api/robot/heartbeat"]
    assert during and all((b["Status"], b["JobGUID"]) == (3, server.job_guid) for b in during)
    # Every log line of the job arrived before its final report; then the robot is Ready.
    last_log = max(i for i, (p, _) in enumerate(calls) if p == "/api/log/batch")
    assert last_log < end_at
    after = [b for p, b in calls[end_at:] if p == "/api/robot/heartbeat"]
    assert after and after[0]["Status"] == 2 and after[0]["JobGUID"] == ""
    assert list((agent.agent.settings.work_dir / "outbox").glob("*.json")) == []


def test_no_ready_heartbeat_while_the_final_report_is_undelivered(start: Start) -> None:
    server = FakeServer(b"print('done')\n", final_failures=3)
    agent = start(server)
    server.wait_until(lambda: server.status == 4, timeout=30)
    agent.stop()
    calls = server.calls
    first_try = next(i for i, (p, b) in enumerate(calls) if b.get("Status") == 4)
    delivered = max(i for i, (p, b) in enumerate(calls) if b.get("Status") == 4)
    assert delivered > first_try
    ready = [
        i
        for i, (p, b) in enumerate(calls)
        if p == "/api/robot/heartbeat" and b["Status"] == 2 and i > first_try
    ]
    assert ready and min(ready) > delivered


def test_a_stop_from_the_server_ends_the_job_stopped(start: Start) -> None:
    server = FakeServer(WAITS_FOR_STOP)
    agent = start(server)
    server.wait_until(lambda: any(line["Message"] == "working" for line in server.logs))
    server.heartbeat_code = 20
    server.wait_until(lambda: server.final() is not None)
    agent.stop()
    final = server.final()
    assert final is not None and final["Status"] == 7
    assert final["Message"] == "stopped: stop requested"


def test_an_abort_from_the_server_kills_the_job(start: Start) -> None:
    server = FakeServer(b"import time\nprint('working', flush=True)\ntime.sleep(60)\n")
    agent = start(server)
    server.wait_until(lambda: any(line["Message"] == "working" for line in server.logs))
    server.heartbeat_code = 10
    server.wait_until(lambda: server.final() is not None, timeout=10)
    agent.stop()
    final = server.final()
    assert final is not None and final["Status"] == 3


def test_shutting_down_stops_the_running_job_and_reports_it(start: Start) -> None:
    server = FakeServer(WAITS_FOR_STOP)
    agent = start(server)
    server.wait_until(lambda: any(line["Message"] == "working" for line in server.logs))
    assert agent.stop() == 0
    final = server.final()
    assert final is not None and final["Status"] == 7
    assert "shutting down" in final["Message"]


def test_a_job_stopped_before_it_started_is_never_run(start: Start) -> None:
    server = FakeServer(b"print('must not run')\n", status=6)  # Stopping when we take it
    agent = start(server)
    server.wait_until(lambda: server.final() is not None)
    agent.stop()
    final = server.final()
    assert final is not None and final["Status"] == 7
    assert not any(p.startswith("/api/processVersion/download") for p in server.paths())
    assert server.logs == [] or all(line["Message"] != "must not run" for line in server.logs)


def test_a_package_with_the_wrong_hash_fails_the_job(start: Start) -> None:
    server = FakeServer(b"print('tampered')\n", sha256="0" * 64)
    agent = start(server)
    server.wait_until(lambda: server.final() is not None)
    agent.stop()
    final = server.final()
    assert final is not None and final["Status"] == 5
    assert "SHA-256" in final["Message"]
    assert any("SHA-256" in line["Message"] and line["Level"] == "Error" for line in server.logs)
