"""Issue 12, "Done when" 3: a real agent runs a Robocorp robot as its author wrote it for
Control Room — robot.yaml, conda.yaml with the PyPI libraries, a tasks.py using
robocorp.tasks and the UNMODIFIED robocorp-workitems, robocorp-vault and robocorp-storage —
and every result is checked through Robofleet's own API.

The robot reserves each input of the queue (the first is the job's default task), reads its
payload and a file, creates an output with a file, releases one input as a BUSINESS failure
and crashes on another inside `with item:` (APPLICATION; the task then fails, so the job
does); before that it reads and sets a vault secret and sets and gets a text and a 4 MiB
storage asset. The agent builds the venv from conda.yaml's pip list (from PyPI: generous
timeouts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from robofleet.contract import JobStatus, TaskStatus
from tests.acceptance.conftest import Tenant
from tests.acceptance.test_e2e_jobs import agents, logs_of, start_agent, wait_for_end
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, zip_package

__all__ = ["agents"]  # the fixture, shared with the end-to-end job tests

ROBOT_YAML = """# As `rcc robot init` makes it
tasks:
  Process orders:
    shell: python -m robocorp.tasks run tasks.py

environmentConfigs:
  - environment_windows_amd64_freeze.yaml
  - environment_linux_amd64_freeze.yaml
  - environment_darwin_amd64_freeze.yaml
  - conda.yaml

artifactsDir: output

PATH:
  - .
PYTHONPATH:
  - .
ignoreFiles:
  - .gitignore
"""
CONDA_YAML = """channels:
  - conda-forge

dependencies:
  - python=3.10.12
  - pip=23.2.1
  - nodejs=22.9.0
  - pip:
    - robocorp-tasks==4.1.1
    - robocorp-workitems==1.5.1
    - robocorp-vault==1.4.2
    - robocorp-storage==1.1.1
"""
TASKS_PY = """
import json
import os
from pathlib import Path

from robocorp import storage, vault, workitems
from robocorp.tasks import task
from robocorp.workitems import BusinessException

BIG = bytes(range(256)) * (4 * 1024 * 1024 // 256)


def report(seen):
    print("SEEN " + json.dumps(seen), flush=True)


@task
def process_orders():
    seen = {}
    erp = vault.get_secret("erp")
    seen["erp"] = {"username": erp["username"], "password": erp["password"]}
    erp["password"] = "rotated-password"
    vault.set_secret(erp)
    seen["erp_after"] = vault.get_secret("erp")["password"]

    storage.set_text("notes/greeting.txt", "olá")
    seen["text"] = storage.get_text("notes/greeting.txt")
    storage.set_bytes("big.bin", BIG)
    seen["big_equal"] = storage.get_bytes("big.bin") == BIG

    artifacts = Path(os.environ["ROBOT_ARTIFACTS"])
    seen["items"] = []
    report(seen)
    for item in workitems.inputs:
        with item:
            n = item.payload["n"]
            seen["items"].append({"id": item.id, "payload": item.payload})
            report(seen)
            if n == 1:
                text = item.get_file("input.txt", artifacts / "input.txt").read_text()
                seen["file"] = text
                result = artifacts / "result.txt"
                result.write_text(f"processed {n}: {text}")
                output = item.create_output()
                output.payload = {"from": n}
                output.add_file(result)
                output.save()
                seen["output"] = output.id
                report(seen)
            elif n == 2:
                raise BusinessException(code="NO_CUSTOMER", message="customer 42 does not exist")
            else:
                raise RuntimeError("the ERP crashed")
"""


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def add_task(api: httpx.Client, queue: str, name: str, parameters: dict[str, Any]) -> str:
    body = {"Queue": queue, "Name": name, "Parameters": parameters}
    return str(ok(api.post("/api/task/create", json=body))["guid"])


def seen_by_robot(tenant: Tenant, job: str) -> dict[str, Any]:
    lines = [line["Message"] for line in logs_of(tenant, job)]
    reports = [line.removeprefix("SEEN ") for line in lines if line.startswith("SEEN ")]
    assert reports, lines
    return dict(json.loads(reports[-1]))


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_an_unmodified_robocorp_robot_runs_on_a_real_agent(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    api = tenant.api
    queue = str(ok(api.post("/api/queue/create", json={"Name": "Orders"}))["guid"])
    first = add_task(api, queue, "order-1", {"n": 1})
    second = add_task(api, queue, "order-2", {"n": 2, "customer": 42})
    third = add_task(api, queue, "order-3", {"n": 3})
    # The first input's file, where work-item files live: Storage `Work items/<task>/`.
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

    package = zip_package(
        {"robot.yaml": ROBOT_YAML, "conda.yaml": CONDA_YAML, "tasks.py": TASKS_PY}
    )
    process = make_process(api, content=package, file_name="orders-robot.zip")
    assert ok(api.get(f"/api/processVersion/list/{process}"))[0]["kind"] == "robocorp"
    robot, _ = start_agent(tenant, tmp_path, agents)
    job = str(create_job(api, process, Robot=robot, Task=first)["guid"])
    done = wait_for_end(tenant, job, timeout=900)

    # The task raised (the crash on the third input): robocorp.tasks exits 1, the job fails.
    assert done["status"] == JobStatus.FAILED, done
    messages = [line["Message"] for line in logs_of(tenant, job)]
    assert any("the ERP crashed" in line for line in messages), messages
    warnings = [line["Message"] for line in logs_of(tenant, job) if line["level_name"] == "Warning"]
    assert any("nodejs=22.9.0" in line for line in warnings), warnings
    seen = seen_by_robot(tenant, job)
    # robocorp.tasks' log.html, from the artifacts folder, kept in Storage under the job.
    log_html = ok(api.get(f"/api/files/read/Robocorp artifacts/{job}/log.html"))
    assert log_html["size"] > 0

    # Vault: read, then replaced in the robot's own scope.
    assert seen["erp"] == {"username": "bot@erp", "password": "first-password"}
    assert seen["erp_after"] == "rotated-password"
    listed = ok(api.get("/api/asset/list", params={"Name": "erp"}))["items"]
    own = next(r for r in listed if r["robot_type"] == 1)
    revealed = ok(api.get(f"/api/asset/read/{own['guid']}"))
    assert (revealed["text"], revealed["password"]) == ("bot@erp", "rotated-password")

    # Storage: a text and a 4 MiB asset, as the robot read them and as Robofleet holds them.
    assert seen["text"] == "olá"
    assert seen["big_equal"] is True
    big = ok(api.get("/api/files/read/Robocorp assets/big.bin"))
    assert big["size"] == 4 * 1024 * 1024
    greeting = ok(api.get("/api/files/read/Robocorp assets/notes/greeting.txt"))
    assert api.get(f"/api/files/download/{greeting['guid']}").content == "olá".encode()

    # Work items: every input reserved in order, the first with its payload and file.
    assert [item["id"] for item in seen["items"]] == [first, second, third]
    assert seen["items"][1]["payload"] == {"n": 2, "customer": 42}
    assert seen["file"] == "invoice 1 ✓"
    assert ok(api.get(f"/api/task/read/{first}"))["status"] == TaskStatus.SUCCESS
    business = ok(api.get(f"/api/task/read/{second}"))
    assert business["status"] == TaskStatus.FAILED_BUSINESS
    assert business["error"]["type"] == "NO_CUSTOMER"
    assert business["error"]["message"] == "customer 42 does not exist"
    crashed = ok(api.get(f"/api/task/read/{third}"))
    assert crashed["status"] == TaskStatus.FAILED_APPLICATION
    assert "the ERP crashed" in crashed["error"]["message"]
    output = ok(api.get(f"/api/task/read/{seen['output']}"))
    assert output["parameters"] == {"from": 1}
    assert output["parent_task"] == first
    assert output["status"] == TaskStatus.NEW  # released to the next step as the job ended
    outputs_queue = ok(api.get(f"/api/queue/read/{output['queue_guid']}"))
    assert outputs_queue["name"] == "Orders outputs"
    files = ok(api.get("/api/files/list", params={"folder": f"Work items/{output['guid']}"}))
    assert [f["name"] for f in files] == ["result.txt"]
    content = api.get(f"/api/files/download/{files[0]['guid']}").content
    assert content == "processed 1: invoice 1 ✓".encode()
