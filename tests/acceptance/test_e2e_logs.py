"""Logs end to end: a live tail while a real job runs on a real agent, an agent the server
rate-limits losing no line, the retention duty, the CLI's tail."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.acceptance.conftest import Tenant
from tests.acceptance.test_logs import PNG, read_events
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import eventually
from tests.support.server import ServerProcess
from tests.support.sse import sse_events

WAITING_JOB = """
import os, time
from robofleet import sdk

shot = os.path.join(os.getcwd(), "shot.png")
with open(shot, "wb") as f:
    f.write(bytes.fromhex(sdk.parameter("png")))
sdk.log("Warning", "ready", screenshot=shot, step=1)
os.remove(shot)
while not os.path.exists(sdk.parameter("go")):
    time.sleep(0.05)
for i in range(5):
    print(f"after {i}")
"""

CHATTY_JOB = """
for i in range(1500):
    print(f"chatty {i}")
"""


def follow(tenant: Tenant, params: dict[str, Any], seen: list[dict[str, Any]]) -> threading.Thread:
    """A tail read on a thread of its own; each event lands in `seen` as it arrives."""

    def run() -> None:
        with (
            tenant.client(Key=tenant.key) as client,
            client.stream("GET", "/api/log/tail", params=params) as stream,
        ):
            for event in sse_events(stream.iter_lines()):
                seen.append(event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_tail_shows_a_running_jobs_lines_as_they_are_written(
    tenant: Tenant, tmp_path: Path
) -> None:
    robot = make_robot(tenant.api)
    script = WAITING_JOB.encode()
    go = tmp_path / "go"
    job = create_job(
        tenant.api,
        make_process(tenant.api, content=script),
        Robot=robot,
        Parameters={"png": PNG.hex(), "go": str(go)},
    )["guid"]
    seen: list[dict[str, Any]] = []
    account_seen: list[dict[str, Any]] = []
    tail = follow(tenant, {"Job": job, "Timeout": 120}, seen)
    follow(tenant, {"MinLevel": "Warning", "Timeout": 120}, account_seen)
    agent = AgentProcess(tenant.server.url, robot, tmp_path / "agent").start()
    try:
        eventually(lambda: any(e["Message"] == "ready" for e in seen), timeout=90)
        # The job is still running (it waits for `go`): the line came live, not afterwards.
        assert tenant.api.get(f"/api/job/read/{job}").json()["status"] == 8
        ready = next(e for e in seen if e["Message"] == "ready")
        assert (ready["level_name"], ready["fields"]) == ("Warning", {"step": 1})
        assert tenant.api.get(ready["screenshot_url"]).content == PNG
        eventually(lambda: any(e["Message"] == "ready" for e in account_seen))
        go.write_text("go")
        eventually(lambda: sum(e["Message"].startswith("after") for e in seen) == 5, timeout=60)
        assert [e["Message"] for e in seen if e["Message"].startswith("after")] == [
            f"after {i}" for i in range(5)
        ]
        ids = [e["id"] for e in seen]
        assert ids == sorted(set(ids))
        # Reconnecting with Last-Event-ID goes on after the last line seen, no gap, no repeat.
        with tenant.client(Key=tenant.key) as client:
            resumed = read_events(
                client, {"Job": job, "Timeout": 0}, **{"Last-Event-ID": str(ids[0])}
            )
        assert [e["id"] for e in resumed] == [
            line["id"]
            for line in tenant.api.get(
                "/api/log/list", params={"Job": job, "AfterId": ids[0], "Count": 1000}
            ).json()
        ]
        assert tenant.api.get("/api/log/tail", headers={"Last-Event-ID": "x"}).status_code == 422
    finally:
        agent.stop()
    tail.join(timeout=1)


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_a_rate_limited_agent_loses_no_line(fresh_server: ServerProcess, tmp_path: Path) -> None:
    fresh_server.env.update(
        {
            "ROBOFLEET_LOG_LINES_PER_SECOND_PER_ROBOT": "400",
            "ROBOFLEET_LOG_BURST_LINES_PER_ROBOT": "100",
        }
    )
    fresh_server.start()
    api = fresh_server.client()
    robot = make_robot(api)
    job = create_job(api, make_process(api, script=CHATTY_JOB), Robot=robot)["guid"]
    agent = AgentProcess(fresh_server.url, robot, tmp_path / "agent").start()
    try:

        def chatty_lines() -> list[str]:
            lines = api.get(
                "/api/log/list", params={"Job": job, "Search": "chatty", "Count": 1000}
            ).json()
            more = api.get(
                "/api/log/list",
                params={"Job": job, "Search": "chatty", "Count": 1000, "Offset": 1000},
            ).json()
            return [line["Message"] for line in lines + more]

        eventually(lambda: len(chatty_lines()) >= 1500, timeout=120)
        eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] == 4, timeout=60)
        assert sorted(chatty_lines()) == sorted(f"chatty {i}" for i in range(1500))
        assert "limits this robot's log rate" in agent.output()
    finally:
        agent.stop()
    # A robot over its rate is told when to come back, and nothing of the batch is kept.
    with httpx.Client(base_url=fresh_server.url, headers=robot_auth(robot)) as as_robot:
        lines = [{"JobGUID": job, "Message": "flood"}] * 500
        answers = [as_robot.post("/api/log/batch", json=lines) for _ in range(3)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert refused[0].json()["code"] == "rate_limited"
    stored = api.get("/api/log/list", params={"Job": job, "Search": "flood", "Count": 1000})
    assert len(stored.json()) == 500 * (3 - len(refused))


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_retention_deletes_old_lines_screenshots_and_audit(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    fresh_server.env.update({"ROBOFLEET_STORE_LOGS_DAYS": "2", "ROBOFLEET_STORE_AUDIT_DAYS": "2"})
    fresh_server.start()
    api = fresh_server.client()
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    image = PNG + uuid.uuid4().bytes
    sha = hashlib.sha256(image).hexdigest()
    blob = fresh_server.data_dir / "blobs" / sha[:2] / sha
    url = fresh_server.database_url or f"sqlite:///{fresh_server.data_dir / 'robofleet.db'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    audit_guid = str(uuid.uuid4())
    try:
        with engine.begin() as db:
            db.execute(
                text(
                    "INSERT INTO audit_log (guid, account_id, at, actor_kind, actor_name, "
                    "address, user_agent, action, object_type, changes, message) VALUES "
                    "(:guid, NULL, :at, 'system', 'test', '', '', 'create', 'robot', '{}', '')"
                ),
                {"guid": audit_guid, "at": datetime.now(UTC) - timedelta(days=3)},
            )
        api.post(
            "/api/log/batch",
            json=[
                {"Message": "old", "Time": old, "Screenshot": base64.b64encode(image).decode()},
                {"Message": "recent"},
            ],
        )
        assert blob.exists() or fresh_server.database_url is None

        def audit_left() -> int:
            with engine.connect() as db:
                return int(
                    db.execute(
                        text("SELECT count(*) FROM audit_log WHERE guid = :g"), {"g": audit_guid}
                    ).scalar_one()
                )

        eventually(lambda: [m["Message"] for m in api.get("/api/log/list").json()] == ["recent"])
        eventually(lambda: audit_left() == 0)
        eventually(lambda: not blob.exists())
    finally:
        engine.dispose()


def test_the_cli_tails_a_jobs_lines(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=robot)["guid"]
    env = {"ROBOFLEET_SERVER": tenant.server.url, "ROBOFLEET_API_KEY": tenant.key}
    command = [sys.executable, "-m", "robofleet", "log", "tail", "--job", job]
    with subprocess.Popen(
        command, env={**env, "PATH": "/usr/bin:/bin"}, stdout=subprocess.PIPE, text=True
    ) as cli:
        try:
            assert cli.stdout is not None
            posted = threading.Event()

            def post() -> None:
                # The tail starts at the lines written after it connects: keep writing until
                # the CLI shows one.
                while not posted.is_set():
                    tenant.api.post(
                        "/api/log/batch", json=[{"JobGUID": job, "Message": "[b]seen[/b]"}]
                    )
                    posted.wait(0.5)

            writer = threading.Thread(target=post, daemon=True)
            writer.start()
            first = cli.stdout.readline()
            posted.set()
            assert "[b]seen[/b]" in first, first
        finally:
            cli.terminate()
