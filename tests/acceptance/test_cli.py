"""The operator CLI against a real server: publish, run and follow, list, add tasks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import make_robot


def cli(tenant: Tenant, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robofleet", *args],
        env={
            "PATH": "/usr/bin:/bin",
            "ROBOFLEET_SERVER": tenant.server.url,
            "ROBOFLEET_API_KEY": tenant.key,
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_publish_run_follow_and_list(tenant: Tenant, tmp_path: Path) -> None:
    script = tmp_path / "greet.py"
    script.write_text("from robofleet import sdk\nprint('hi', sdk.parameter('who'))\n")
    published = cli(tenant, "process", "publish", str(script), "--name", "Greeter")
    assert published.returncode == 0, published.stderr
    assert "published python version" in published.stdout and "(current)" in published.stdout
    bad = tmp_path / "bad.py"
    bad.write_text("raise SystemExit('no such customer')\n")
    assert cli(tenant, "process", "publish", str(bad), "--name", "Broken").returncode == 0

    robot = make_robot(tenant.api, "cli-bot")
    agent = AgentProcess(tenant.server.url, robot, tmp_path / "agent").start()
    try:
        run = cli(
            tenant, "job", "run", "Greeter", "--robot", "cli-bot", "--param", "who=Ada", "--follow"
        )
        assert run.returncode == 0, run.stdout + run.stderr
        guid = run.stdout.splitlines()[0].strip()
        assert tenant.api.get(f"/api/job/read/{guid}").json()["status"] == 4
        assert "hi Ada" in run.stdout and "ended Success" in run.stdout
        failed = cli(tenant, "job", "run", "Broken", "--robot", robot, "--follow")
        assert failed.returncode == 1
        assert "ended Failed" in failed.stdout and "no such customer" in failed.stdout
    finally:
        agent.stop()

    listed = cli(tenant, "job", "list")
    assert listed.returncode == 0 and "Greeter" in listed.stdout and "2 of 2 jobs" in listed.stdout
    robots = cli(tenant, "robot", "list")
    assert robots.returncode == 0 and "cli-bot" in robots.stdout
    assert cli(tenant, "job", "run", "NoSuchProcess").returncode == 1


def test_queue_add_from_csv_and_jsonl_then_list(tenant: Tenant, tmp_path: Path) -> None:
    tenant.api.post("/api/queue/create", json={"Name": "Inbox", "UniqueTasks": True})
    csv_file = tmp_path / "tasks.csv"
    csv_file.write_text("Name,Priority,customer,amount\nA-1,High,ACME,10\nA-2,Low,Initech,5\n")
    added = cli(tenant, "queue", "add", "Inbox", "--file", str(csv_file))
    assert added.returncode == 0, added.stderr
    assert "added 2 of 2 tasks" in added.stdout
    task = tenant.api.get("/api/task/read/A-1").json()
    assert task["parameters"] == {"customer": "ACME", "amount": "10"} and task["priority"] == 3

    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(t)
            for t in ({"Name": "B-1", "Parameters": {"n": 1}}, {"Name": "A-1"}, {"Name": "B-2"})
        )
    )
    partly = cli(tenant, "queue", "add", "Inbox", "--file", str(jsonl))
    assert partly.returncode == 1
    assert "added 2 of 3 tasks" in partly.stdout and "A-1" in partly.stdout

    queues = cli(tenant, "queue", "list")
    assert queues.returncode == 0 and "Inbox" in queues.stdout
    tasks = cli(tenant, "task", "list", "Inbox", "--status", "0")
    assert tasks.returncode == 0
    assert all(name in tasks.stdout for name in ("A-1", "A-2", "B-1", "B-2"))


def test_cli_errors_are_clear(tenant: Tenant) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "robofleet", "job", "list"],
        env={"PATH": "/usr/bin:/bin", "ROBOFLEET_SERVER": tenant.server.url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "API key" in result.stderr
    wrong = cli(tenant, "queue", "list", "--key", "00000000-0000-4000-8000-000000000000")
    assert wrong.returncode == 1 and "401" in wrong.stderr
