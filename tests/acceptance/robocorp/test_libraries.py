"""The unmodified PyPI libraries (robocorp-workitems, robocorp-vault, robocorp-storage) run
in a Python process of their own against a real server, with the RC_* variables of a job
taken as the agent takes it; every result is then checked through Robofleet's own API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from robofleet.contract import JobStatus, TaskStatus
from tests.acceptance.conftest import Tenant
from tests.acceptance.robocorp.conftest import end_job, take_robocorp_job

SCRIPT = Path(__file__).with_name("robot_script.py")


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def add_task(api: httpx.Client, queue: str, name: str, parameters: dict[str, Any]) -> str:
    body = {"Queue": queue, "Name": name, "Parameters": parameters}
    return str(ok(api.post("/api/task/create", json=body))["guid"])


def run_robot(env: dict[str, str], artifacts: Path) -> dict[str, Any]:
    artifacts.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("RC_", "RPA_"))}
    environment.update(env, ROBOT_ARTIFACTS=str(artifacts), ROBOT_ROOT=str(artifacts))
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_unmodified_libraries_reach_robofleet(tenant: Tenant, tmp_path: Path) -> None:
    api = tenant.api
    queue = str(ok(api.post("/api/queue/create", json={"Name": "Orders"}))["guid"])
    first = add_task(api, queue, "order-1", {"n": 1})
    second = add_task(api, queue, "order-2", {"n": 2, "customer": 42})
    third = add_task(api, queue, "order-3", {"n": 3})
    # The first item's file, put where work item files live: Storage `Work items/<task>/`.
    root = ok(api.post("/api/folders/create", json={"Name": "Work items"}))["guid"]
    folder = ok(api.post("/api/folders/create", json={"Name": first, "ParentGuid": root}))
    uploaded = api.put(
        "/api/files/upload",
        params={"name": "input.txt", "folder": folder["guid"]},
        content="invoice 1 ✓".encode(),
    )
    assert uploaded.status_code == 200, uploaded.text
    erp = {"Name": "erp", "Type": 1, "Text": "bot@erp", "Password": "first-password"}
    ok(api.post("/api/asset/create", json=erp))

    job = take_robocorp_job(tenant, task=first)
    assert job.robocorp["WorkItemId"] == first
    assert job.robocorp["ProcessRunId"] == job.guid == job.robocorp["ActivityRunId"]
    assert job.robocorp["WorkspaceId"] == tenant.guid
    assert ok(api.get(f"/api/task/read/{first}"))["status"] == TaskStatus.IN_PROGRESS

    seen = run_robot(job.environment(tenant.server), tmp_path / "artifacts")

    # Work items: payloads and the file as the robot read them.
    assert seen["first_id"] == first
    assert seen["first_payload"] == {"n": 1}
    assert seen["first_file"] == "invoice 1 ✓"
    assert seen["second_payload"] == {"n": 2, "customer": 42}
    assert seen["third_id"] == third
    # ... and as Robofleet holds them.
    assert ok(api.get(f"/api/task/read/{first}"))["status"] == TaskStatus.SUCCESS
    failed = ok(api.get(f"/api/task/read/{second}"))
    assert failed["status"] == TaskStatus.FAILED_BUSINESS
    assert failed["error"]["type"] == "NO_CUSTOMER"
    assert failed["error"]["message"] == "customer 42 does not exist"
    assert ok(api.get(f"/api/task/read/{third}"))["status"] == TaskStatus.IN_PROGRESS
    output = ok(api.get(f"/api/task/read/{seen['output_id']}"))
    assert output["parameters"] == {"from": 1}
    assert output["parent_task"] == first
    assert output["status"] == TaskStatus.POSTPONED  # released to the next step when the job ends
    outputs_queue = ok(api.get(f"/api/queue/read/{output['queue_guid']}"))
    assert outputs_queue["name"] == "Orders outputs"
    files = ok(api.get("/api/files/list", params={"folder": f"Work items/{output['guid']}"}))
    assert [f["name"] for f in files] == ["result.txt"]
    content = api.get(f"/api/files/download/{files[0]['guid']}")
    assert content.content == b"processed 1"

    # The vault: read, replaced in the robot's own scope, created.
    assert seen["erp"] == {"username": "bot@erp", "password": "first-password"}
    assert seen["erp_after"] == "rotated-password"
    assert seen["api_token"] == "t0ken"
    listed = ok(api.get("/api/asset/list", params={"Name": "erp"}))["items"]
    assert sorted(r["robot_type"] for r in listed) == [1, 3]
    own = next(r for r in listed if r["robot_type"] == 1)
    revealed = ok(api.get(f"/api/asset/read/{own['guid']}"))
    assert (revealed["type"], revealed["text"], revealed["password"]) == (
        1,
        "bot@erp",
        "rotated-password",
    )
    token = ok(api.get("/api/asset/list", params={"Name": "api-token"}))["items"][0]
    assert (token["type"], token["text"], token["description"]) == (2, "t0ken", "made by the robot")

    # Storage assets: files of `Robocorp assets/`.
    assert seen["text"] == "olá"
    assert seen["big_equal"] is True
    assert seen["assets"] == ["big.bin", "notes/greeting.txt"]
    big = ok(api.get("/api/files/read/Robocorp assets/big.bin"))
    assert big["size"] == 4 * 1024 * 1024
    greeting = ok(api.get("/api/files/read/Robocorp assets/notes/greeting.txt"))
    assert api.get(f"/api/files/download/{greeting['guid']}").content == "olá".encode()

    # The job ends well: the unreleased input succeeds, the output enters its queue.
    end_job(tenant, job, JobStatus.SUCCESS)
    assert ok(api.get(f"/api/task/read/{third}"))["status"] == TaskStatus.SUCCESS
    assert ok(api.get(f"/api/task/read/{output['guid']}"))["status"] == TaskStatus.NEW
