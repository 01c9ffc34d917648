"""ROBOFLEET_SERVER with a dead node first: a real agent skips it and runs a job from the real
server; the job is given the list with the agent's node first, and the SDK, given the dead
node first again, still reaches the server (both stores)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot
from tests.support.queues import eventually, make_queue
from tests.support.server import free_port

SCRIPT = """
import os
from robofleet import sdk

given = os.environ["ROBOFLEET_SERVER"]
sdk.log("Info", "given", servers=given)
os.environ["ROBOFLEET_SERVER"] = {dead!r} + "," + given  # the SDK meets the dead node first
sdk.queue({queue!r}).add("from-the-job")
sdk.set_return_value({{"servers": given}})
"""


@pytest.fixture
def agent(tenant: Tenant, tmp_path: Path) -> Iterator[tuple[str, str, AgentProcess]]:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    robot = make_robot(tenant.api)
    started = AgentProcess(f"{dead},{tenant.server.url}", robot, tmp_path / "agent").start()
    yield dead, robot, started
    started.stop()


def test_an_agent_and_its_job_skip_a_dead_server(
    tenant: Tenant, agent: tuple[str, str, AgentProcess]
) -> None:
    dead, robot, started = agent
    queue = make_queue(tenant.api)
    process = make_process(tenant.api, script=SCRIPT.format(dead=dead, queue=queue))
    job = create_job(tenant.api, process, Robot=robot)["guid"]

    def ended() -> bool:
        return tenant.api.get(f"/api/job/read/{job}").json()["status"] in {3, 4, 5, 7}

    eventually(ended, timeout=90)
    done = tenant.api.get(f"/api/job/read/{job}").json()
    assert done["status"] == 4, (done, started.output())
    assert done["return_value"] == {"servers": f"{tenant.server.url},{dead}"}
    tasks = tenant.api.post(f"/api/task/filter/list/{queue}", json={}).json()
    assert [task["name"] for task in tasks] == ["from-the-job"]


def test_the_cli_skips_a_dead_server_and_names_a_bad_url(tenant: Tenant) -> None:
    robot = make_robot(tenant.api, "listed-through-a-list")
    dead = f"http://127.0.0.1:{free_port()}"

    def cli(servers: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "robofleet", "robot", "list"],
            env={
                "PATH": "/usr/bin:/bin",
                "ROBOFLEET_SERVER": servers,
                "ROBOFLEET_API_KEY": tenant.key,
                "COLUMNS": "200",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed = cli(f"{dead},{tenant.server.url}")
    assert listed.returncode == 0, listed.stderr
    assert "listed-through-a-list" in listed.stdout and robot
    refused = cli(f"{tenant.server.url},localhost:8000")
    assert refused.returncode == 2
    assert "'localhost:8000' is not an http:// or https:// URL" in refused.stderr
