"""End to end: a real server, real agent processes, real packages run as child processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot, zip_package
from tests.support.queues import eventually

PYTHON_JOB = """
import sys, time
from robofleet import sdk

name = sdk.parameter("name", "nobody")
print(f"hello {name}")
sdk.log("Info", "working", step=1)
sdk.set_progress(50)
print("to stderr", file=sys.stderr)
sdk.set_progress(90)
sdk.set_return_value({"greeted": name, "ok": True})
"""

ROBOT_SUITE = """*** Test Cases ***
Adds Up
    Should Be Equal As Integers    ${2}    ${2}
    Log    all good

Has Month
    Should Be Equal    ${MONTH}    2026-10
"""


@pytest.fixture
def agents(tenant: Tenant, tmp_path: Path) -> Iterator[list[AgentProcess]]:
    started: list[AgentProcess] = []
    yield started
    for agent in started:  # all at once: each idle agent may take a wait-timeout to leave
        if agent.process and agent.process.poll() is None:
            agent.process.terminate()
    for agent in started:
        agent.stop()


def start_agent(
    tenant: Tenant,
    tmp_path: Path,
    agents: list[AgentProcess],
    robot: str | None = None,
    **options: Any,
) -> tuple[str, AgentProcess]:
    robot = robot or make_robot(tenant.api)
    agent = AgentProcess(
        tenant.server.url,
        robot,
        tmp_path / f"agent-{robot[:8]}",
        cache_dir=tmp_path / "cache",
        **options,
    ).start()
    agents.append(agent)
    return robot, agent


def wait_for_end(tenant: Tenant, job: str, timeout: float = 90) -> dict[str, Any]:
    final = {3, 4, 5, 7}
    eventually(
        lambda: tenant.api.get(f"/api/job/read/{job}").json()["status"] in final, timeout=timeout
    )
    return dict(tenant.api.get(f"/api/job/read/{job}").json())


def logs_of(tenant: Tenant, job: str) -> list[dict[str, Any]]:
    lines = tenant.api.get("/api/log/list", params={"Job": job, "AfterId": 0, "Count": 1000}).json()
    return list(lines)


def test_a_python_package_runs_to_success(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    process = make_process(
        tenant.api, content=zip_package({"main.py": PYTHON_JOB}), file_name="hello.zip"
    )
    job = create_job(tenant.api, process, Robot=robot, Parameters={"name": "Ada"})["guid"]
    done = wait_for_end(tenant, job)
    assert done["status"] == 4, done
    assert done["progress"] == 100
    assert done["return_value"] == {"greeted": "Ada", "ok": True}
    assert done["started_at"] and done["completed_at"]
    lines = logs_of(tenant, job)
    messages = [line["Message"] for line in lines]
    assert "hello Ada" in messages
    working = next(line for line in lines if line["Message"] == "working")
    assert working["fields"] == {"step": 1}
    assert next(line for line in lines if line["Message"] == "to stderr")["level_name"] == "Error"
    robot_row = tenant.api.get(f"/api/robot/read/{robot}").json()
    assert robot_row["Status"] == 2 and robot_row["LastHeartbeatAt"] is not None


def test_a_robot_framework_suite_and_a_command(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    suite = make_process(tenant.api, content=ROBOT_SUITE.encode(), file_name="checks.robot")
    job = create_job(tenant.api, suite, Robot=robot, Parameters={"MONTH": "2026-10"})["guid"]
    done = wait_for_end(tenant, job)
    assert done["status"] == 4, done
    assert done["return_value"]["passed"] == 2 and done["return_value"]["failed"] == 0
    messages = [line["Message"] for line in logs_of(tenant, job)]
    assert any("PASS" in m and "Adds Up" in m for m in messages)

    failing = create_job(tenant.api, suite, Robot=robot, Parameters={"MONTH": "1999-01"})
    done = wait_for_end(tenant, failing["guid"])
    assert done["status"] == 5
    assert done["return_value"]["failed"] == 1
    assert any(
        "FAIL" in line["Message"] and "Has Month" in line["Message"]
        for line in logs_of(tenant, failing["guid"])
    )

    command = make_process(
        tenant.api,
        file_name="cmd.zip",
        content=zip_package(
            {"run.sh": 'echo "city is $ROBOFLEET_PARAM_CITY"\n'},
            {"kind": "command", "entry_point": "sh run.sh"},
        ),
    )
    job = create_job(tenant.api, command, Robot=robot, Parameters={"city": "Oslo"})["guid"]
    done = wait_for_end(tenant, job)
    assert done["status"] == 4, done
    assert "city is Oslo" in [line["Message"] for line in logs_of(tenant, job)]


def test_a_failing_script_ends_failed_with_its_traceback(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    script = "def post(n):\n    raise ValueError(f'invoice {n} is unbalanced')\n\npost(42)\n"
    process = make_process(tenant.api, script=script)
    job = create_job(tenant.api, process, Robot=robot)["guid"]
    done = wait_for_end(tenant, job)
    assert done["status"] == 5
    assert "invoice 42 is unbalanced" in done["last_message"]
    errors = "\n".join(
        line["Message"] for line in logs_of(tenant, job) if line["level_name"] == "Error"
    )
    assert "Traceback (most recent call last)" in errors
    assert "ValueError: invoice 42 is unbalanced" in errors


@pytest.mark.exclusive  # the script must start and see the stop within the 3 s grace
def test_soft_stop_ends_stopped(tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    script = (
        "import time\nfrom robofleet import sdk\n"
        "try:\n"
        "    sdk.log('Info', 'polling')\n"
        "    while not sdk.should_stop():\n"
        "        time.sleep(0.1)\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
        "sdk.log('Info', 'stopping cleanly')\n"
    )
    job = create_job(tenant.api, make_process(tenant.api, script=script), Robot=robot)["guid"]
    # Stopped only once the script is inside its try: an interrupt during its imports is
    # no clean stop.
    eventually(lambda: "polling" in [line["Message"] for line in logs_of(tenant, job)])
    assert tenant.api.post("/api/job/stop", json={"Guid": job}).json()["status"] == 6
    done = wait_for_end(tenant, job)
    assert done["status"] == 7
    assert "stopping cleanly" in [line["Message"] for line in logs_of(tenant, job)]


def test_abort_kills_the_whole_process_tree(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    pids = tmp_path / "pids.txt"
    script = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(300)\n"
    )
    job = create_job(tenant.api, make_process(tenant.api, script=script), Robot=robot)["guid"]
    eventually(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    job_pid, grandchild_pid = (int(p) for p in pids.read_text().split())
    assert psutil.pid_exists(grandchild_pid)
    assert tenant.api.post("/api/job/abort", json={"Guid": job}).json()["status"] == 2
    done = wait_for_end(tenant, job)
    assert done["status"] == 3
    for pid in (job_pid, grandchild_pid):
        eventually(
            lambda pid=pid: (
                not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
            ),
            timeout=10,
        )


@pytest.mark.exclusive  # compares when scripts start: a starved interpreter starts late
def test_twenty_jobs_over_four_agents_run_once_in_priority_order(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    script = (
        "import time\nfrom robofleet import sdk\n"
        "started = time.time()\n"
        "time.sleep(0.6)\n"
        "sdk.set_return_value({'started': started, 'job': sdk.job_guid()})\n"
    )
    process = make_process(tenant.api, script=script)
    tenant.api.post("/api/robotGroup/create", json={"Name": "Pool"})
    robots = [make_robot(tenant.api) for _ in range(4)]
    for robot in robots:
        tenant.api.put(
            "/api/robotGroup/addRobot", json={"RobotGroupGuid": "Pool", "RobotGuid": robot}
        )
    priorities = [3] * 8 + [2] * 4 + [1] * 8
    jobs = {
        create_job(tenant.api, process, RobotGroup="Pool", Priority=p)["guid"]: p
        for p in priorities
    }
    for robot in robots:
        start_agent(tenant, tmp_path, agents, robot=robot)
    results = {job: wait_for_end(tenant, job, timeout=180) for job in jobs}
    assert all(r["status"] == 4 for r in results.values()), results
    # Each ran exactly once: its own return value, and one start per job.
    assert {r["return_value"]["job"] for r in results.values()} == set(jobs)
    assert len({r["robot_guid"] for r in results.values()}) >= 2  # spread over agents
    started = {job: r["return_value"]["started"] for job, r in results.items()}
    # Jobs are handed out in priority order; their scripts then start after a process spawn
    # whose length varies by tens of ms between agents. A lower job taken while a higher one
    # waited would start a whole 0.6 s job earlier than that one, far beyond this jitter.
    spawn_jitter = 0.2
    for high, low in ((3, 2), (2, 1)):
        latest_high = max(t for job, t in started.items() if jobs[job] == high)
        earliest_low = min(t for job, t in started.items() if jobs[job] == low)
        assert latest_high < earliest_low + spawn_jitter, (high, low)
    ran = json.dumps([r["return_value"] for r in results.values()])
    assert ran.count('"job"') == 20
