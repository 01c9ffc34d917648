"""Issue 12, part 2: a robot written against Sherpa's Python framework runs unchanged.

The robot (tests/support/sherpa_framework) is a separate Python process that speaks only
the framework's documented calls and request forms, never Robofleet's SDK or agent. The
test sets the scene through Robofleet's API, runs the robot until it has no more work, and
checks every result through Robofleet's own API."""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.acceptance.conftest import Tenant
from tests.support.fleet import create_job, make_robot, upload_version
from tests.support.queues import eventually, make_queue

FRAMEWORK = Path(__file__).resolve().parents[1] / "support" / "sherpa_framework"
SCRIPT_NAME = "invoices\\pay"
"""ProcessVersion['Name'] as the framework reads it: the script's path, Windows style."""
INTERVAL = ("--heartbeat-interval", "0.3")
"""The framework's pages say every 10 s at most; a test need not wait that long."""


def basic(guid: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(guid.encode("utf-8")).decode("utf-8")}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


@dataclass
class Scene:
    robot: str
    process: str
    version: str
    job: str
    queue: str
    credential: str
    state: str


def set_scene(
    tenant: Tenant, invoices: str, seconds_per_task: float = 0, **queue_settings: object
) -> Scene:
    """Robot, work queue, credential and text resources, a process whose version is the
    framework script, and a job for the robot whose default task configures the script."""
    api = tenant.api
    robot = make_robot(api)
    queue = ok(api.get(f"/api/queue/read/{make_queue(api, **queue_settings)}"))["guid"]
    settings_queue = make_queue(api)
    credential = ok(
        api.post(
            "/api/asset/create",
            json={"Name": "Bank", "Type": 1, "Text": "clerk@bank", "Password": "s3cret-pass"},
        )
    )["guid"]
    state = ok(api.post("/api/asset/create", json={"Name": "LastRun", "Type": 2, "Text": "none"}))[
        "guid"
    ]
    process = ok(api.post("/api/process/create", json={"Name": "Pay invoices"}))["guid"]
    script = (FRAMEWORK / "scripts" / "invoices" / "pay.py").read_bytes()
    version = upload_version(api, process, "pay.py", script, Name=SCRIPT_NAME)["guid"]
    config = {
        "queue_guid": queue,
        "credential": "Bank",  # by name, as Designer 1.27+ and the framework allow
        "state_asset": state,
        "invoices": invoices,
        "seconds_per_task": str(seconds_per_task),
    }
    default_task = ok(
        api.post(
            "/api/task/create",
            data={"queue_guid": settings_queue, "name": "config", "parameters": json.dumps(config)},
        )
    )["guid"]
    job = create_job(api, process, Robot=robot, Task=default_task)
    return Scene(robot, process, str(version), str(job["guid"]), queue, credential, state)


RobotStarter = Callable[[str], "subprocess.Popen[str]"]


@pytest.fixture
def start_robot(tenant: Tenant, tmp_path: Path) -> Iterator[RobotStarter]:
    """Starts the framework as its users deploy it (settings.txt: the robot GUID, the
    Orchestrator URL, auto-logoff); whatever is still running at the end is killed, with
    the script it started."""
    started: list[subprocess.Popen[str]] = []

    def start(robot: str) -> subprocess.Popen[str]:
        settings = tmp_path / "settings.txt"
        settings.write_text(f"{robot}\n{tenant.server.url}\n1\n", encoding="utf-8")
        with (tmp_path / "robot.log").open("w") as log:
            process = subprocess.Popen(
                [sys.executable, str(FRAMEWORK / "framework.py"), str(settings), *INTERVAL],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                for child in psutil.Process(process.pid).children(recursive=True):
                    child.kill()
            process.kill()
            process.wait()


def finish(process: subprocess.Popen[str], tmp_path: Path) -> str:
    try:
        code = process.wait(timeout=180)
    except subprocess.TimeoutExpired:  # the fixture kills it and its script
        raise AssertionError((tmp_path / "robot.log").read_text()) from None
    output = (tmp_path / "robot.log").read_text()
    assert code == 0, output
    return output


def tasks_by_name(tenant: Tenant, queue: str) -> dict[str, dict[str, Any]]:
    listed = ok(tenant.api.post(f"/api/task/filter/list/{queue}", json={"Count": 100}))
    return {task["name"]: task for task in listed}


def test_a_framework_robot_does_its_whole_loop(
    tenant: Tenant, tmp_path: Path, start_robot: RobotStarter
) -> None:
    scene = set_scene(tenant, "INV-1=100.00;INV-2=250.75")
    # A job whose script fails (it has no default task), taken first (High priority):
    # the framework reports it Failed and goes on to the next job.
    broken = create_job(tenant.api, scene.process, Robot=scene.robot, Priority=3)["guid"]
    output = finish(start_robot(scene.robot), tmp_path)
    assert "heartbeat Status=3" in output  # it reported itself working, with its job

    failed = ok(tenant.api.get(f"/api/job/read/{broken}"))
    assert (failed["status"], failed["status_name"]) == (5, "Failed"), output
    why = ok(tenant.api.get("/api/log/list", params={"Job": broken}))
    assert [(line["Message"], line["Level"]) for line in why] == [
        ("script failed: the job has no default task, so no queue to work on", 3)  # Error
    ]
    assert failed["completed_at"] <= ok(tenant.api.get(f"/api/job/read/{scene.job}"))["started_at"]

    job = ok(tenant.api.get(f"/api/job/read/{scene.job}"))
    assert (job["status"], job["status_name"]) == (4, "Success"), output
    assert job["started_at"] is not None and job["completed_at"] is not None
    assert job["progress"] == 100  # the framework reports no progress; Success completes it

    tasks = tasks_by_name(tenant, scene.queue)
    assert {name: task["status"] for name, task in tasks.items()} == {
        "INV-1": 2,
        "INV-2": 2,
        "NewTask": 4,  # the helper's default name and {"": ""} parameters: no amount
    }
    assert tasks["INV-2"]["parameters"] == {"amount": "250.75"}
    assert tasks["NewTask"]["parameters"] == {"": ""}

    state = ok(tenant.api.get(f"/api/asset/read/{scene.state}"))
    assert state["text"] == "paid 2 invoices, total 350.75"
    credential = ok(tenant.api.get(f"/api/asset/read/{scene.credential}"))
    assert (credential["text"], credential["password"]) == ("clerk@bank", "s3cret-pass")

    lines = ok(tenant.api.get("/api/log/list", params={"Job": scene.job, "AfterId": 0}))
    assert [(line["Message"], line["level_name"]) for line in lines] == [
        ("signed in to the bank as clerk@bank (password of 11 characters)", "Info"),
        ("paid INV-1: 100.00", "Info"),
        ("paid INV-2: 250.75", "Info"),
        ("task NewTask has no amount: business error", "Warning"),
        ("all invoices done", "Info"),
    ]
    owners = {(line["job_id"], line["robot_id"], line["process_version_id"]) for line in lines}
    assert owners == {(job["id"], job["robot_id"], job["process_version_id"])}

    robot = ok(tenant.api.get(f"/api/robot/read/{scene.robot}"))
    assert robot["Status"] == 2 and robot["LastHeartbeatAt"] > 0


def statuses(tenant: Tenant, queue: str) -> list[int]:
    return [task["status"] for task in tasks_by_name(tenant, queue).values()]


def test_a_stop_request_ends_the_job_stopped(
    tenant: Tenant, tmp_path: Path, start_robot: RobotStarter
) -> None:
    """Heartbeat code 20: the framework sends the script its soft-stop signal; the script
    finishes the task in hand, stops taking more and exits; the job ends Stopped."""
    invoices = ";".join(f"INV-{n}={n}.00" for n in range(1, 9))
    scene = set_scene(tenant, invoices, seconds_per_task=1)  # the stop comes well before the end
    robot = start_robot(scene.robot)
    eventually(lambda: 2 in statuses(tenant, scene.queue), timeout=60)
    # Working while the job runs, as its heartbeats say.
    assert ok(tenant.api.get(f"/api/robot/read/{scene.robot}"))["Status"] == 3
    assert ok(tenant.api.post("/api/job/stop", json={"Guid": scene.job}))["status"] == 6
    output = finish(robot, tmp_path)

    job = ok(tenant.api.get(f"/api/job/read/{scene.job}"))
    assert (job["status"], job["status_name"]) == (7, "Stopped"), output
    tasks = tasks_by_name(tenant, scene.queue)
    paid = sorted(name for name, task in tasks.items() if task["status"] == 2)
    assert paid and {task["status"] for task in tasks.values()} == {0, 2}, tasks  # none held
    assert tasks["NewTask"]["status"] == 0  # queued last, never reached
    total = sum(float(tasks[name]["parameters"]["amount"]) for name in paid)
    state = ok(tenant.api.get(f"/api/asset/read/{scene.state}"))
    assert state["text"] == f"paid {len(paid)} invoices, total {total:.2f}"
    assert job["last_message"] == "stopped on request"
    assert ok(tenant.api.get(f"/api/robot/read/{scene.robot}"))["Status"] == 2


def test_an_abort_request_kills_the_script(
    tenant: Tenant, tmp_path: Path, start_robot: RobotStarter
) -> None:
    """Heartbeat code 10: the framework kills the script and reports the job Aborted; the
    queue's AutoChangeStatus fails the task the script held (Failed, Application)."""
    scene = set_scene(tenant, "INV-1=1.00;INV-2=2.00", seconds_per_task=600, AutoChangeStatus=1)
    robot = start_robot(scene.robot)
    eventually(lambda: 1 in statuses(tenant, scene.queue), timeout=60)
    assert ok(tenant.api.post("/api/job/abort", json={"Guid": scene.job}))["status"] == 2
    output = finish(robot, tmp_path)

    job = ok(tenant.api.get(f"/api/job/read/{scene.job}"))
    assert (job["status"], job["status_name"]) == (3, "Aborted"), output
    eventually(lambda: sorted(statuses(tenant, scene.queue)) == [0, 0, 3], timeout=60)
    held = tasks_by_name(tenant, scene.queue)["INV-1"]
    assert (held["status_name"], held["job_guid"]) == ("Failed (Application)", scene.job)
    state = ok(tenant.api.get(f"/api/asset/read/{scene.state}"))
    assert state["text"] == "none"  # killed before it wrote its summary


def test_last_task_takes_the_frameworks_status_filter(tenant: Tenant) -> None:
    """The framework asks lastTask for the next task of a status (default 0, New): in the
    query, or in a form body of the GET as its `requests` examples send every call."""
    robot = make_robot(tenant.api)
    queue = ok(tenant.api.get(f"/api/queue/read/{make_queue(tenant.api)}"))["guid"]
    with tenant.client(**basic(robot)) as client:
        guids = [
            ok(client.post("/api/task/create", data={"queue_guid": queue, "name": name}))["guid"]
            for name in ("first", "second", "third")
        ]
        ok(client.put("/api/task/update", data={"guid": guids[0], "status": "1"}))
        ok(client.put("/api/task/update", data={"guid": guids[0], "status": "4"}))
        last = f"/api/queue/lastTask/{queue}"

        assert ok(client.get(last))["name"] == "second"  # New, in take order
        assert ok(client.get(last, params={"status": 0}))["name"] == "second"
        assert ok(client.get(last, params={"status": 4}))["name"] == "first"
        assert ok(client.request("GET", last, data={"status": "4"}))["name"] == "first"
        assert ok(client.request("GET", last, json={"Status": 4}))["name"] == "first"
        assert client.get(last, params={"status": 2}).status_code == 404  # none succeeded

        bad = client.get(last, params={"status": 9})
        assert bad.status_code == 422 and "Status" in bad.json()["message"], bad.text
        bad_form = client.request("GET", last, data={"status": "done"})
        assert bad_form.status_code == 422 and "Status" in bad_form.json()["message"]
    # Reading changed nothing: both New tasks are still New, nothing was taken.
    assert [ok(tenant.api.get(f"/api/task/read/{g}"))["status"] for g in guids] == [4, 0, 0]
