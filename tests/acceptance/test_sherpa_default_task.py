"""Issue 9, point 1: a job keeps its default task. `consumeNextJob` hands it over as a JSON
string of the task's task/read row (Sherpa's framework does `json.loads(resp["Task"])`), `{}`
when the job has none, and the SDK's `default_task()` returns the same task."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot, zip_package
from tests.support.queues import eventually, make_queue


def basic(guid: str) -> dict[str, str]:
    """The framework's header: 'Basic ' + base64(robot_guid)."""
    return {"Authorization": "Basic " + base64.b64encode(guid.encode("utf-8")).decode("utf-8")}


def consume(tenant: Tenant, robot_guid: str) -> dict[str, Any]:
    """consumeNextJob exactly as Sherpa's framework page sends it (form body)."""
    with tenant.client(**basic(robot_guid)) as robot:
        response = robot.post("/api/robot/consumeNextJob", data={"RobotGUID": robot_guid})
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert body["ConsumeJobErrorCode"] == 0, body
    return body


def add_task(tenant: Tenant, queue: str, name: str) -> str:
    """task/create as Sherpa's Python example sends it: form fields, parameters as JSON."""
    queue_guid = tenant.api.get(f"/api/queue/read/{queue}").json()["guid"]
    response = tenant.api.post(
        "/api/task/create",
        data={
            "queue_guid": queue_guid,
            "name": name,
            "parameters": json.dumps({"query_id": "123", "doc_type": "ПТС"}),
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["guid"])


def test_consume_next_job_returns_the_default_task_row(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    task_guid = add_task(tenant, queue, "Новая задача")
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    job = create_job(tenant.api, process, Robot=robot, Task=task_guid)
    assert job["task_id"] is not None

    body = consume(tenant, robot)
    assert json.loads(body["Job"])["GUID"] == job["guid"]
    task = json.loads(body["Task"])
    assert task == tenant.api.get(f"/api/task/read/{task_guid}").json()
    assert task["guid"] == task_guid and task["name"] == "Новая задача"
    assert task["parameters"] == {"query_id": "123", "doc_type": "ПТС"}


def test_a_task_named_in_a_form_body_and_a_job_without_task(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add_task(tenant, queue, "by-name")
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    named = tenant.api.post(
        "/api/job/create", data={"process": process, "robot": robot, "task": "by-name"}
    )
    assert named.status_code == 200, named.text
    assert json.loads(consume(tenant, robot)["Task"])["name"] == "by-name"

    other = make_robot(tenant.api)
    plain = create_job(tenant.api, process, Robot=other)
    body = consume(tenant, other)
    assert json.loads(body["Job"])["GUID"] == plain["guid"]
    assert body["Task"] == "{}" and json.loads(body["Task"]) == {}


def test_an_unknown_task_is_refused(tenant: Tenant) -> None:
    process = make_process(tenant.api)
    response = tenant.api.post("/api/job/create", json={"Process": process, "Task": "no-such"})
    assert response.status_code == 404, response.text
    assert "no-such" in response.json()["message"]


DEFAULT_TASK_JOB = """
from robofleet import sdk

sdk.set_return_value(sdk.default_task())
"""


@pytest.fixture
def agent(tenant: Tenant, tmp_path: Path) -> Iterator[tuple[str, AgentProcess]]:
    robot = make_robot(tenant.api)
    started = AgentProcess(
        tenant.server.url, robot, tmp_path / "agent", cache_dir=tmp_path / "cache"
    ).start()
    yield robot, started
    started.stop()


def test_the_sdk_default_task_is_the_same_task(
    tenant: Tenant, agent: tuple[str, AgentProcess]
) -> None:
    robot, _ = agent
    queue = make_queue(tenant.api)
    task_guid = add_task(tenant, queue, "for-the-sdk")
    process = make_process(
        tenant.api, content=zip_package({"main.py": DEFAULT_TASK_JOB}), file_name="t.zip"
    )
    job = create_job(tenant.api, process, Robot=robot, Task=task_guid)["guid"]
    eventually(
        lambda: tenant.api.get(f"/api/job/read/{job}").json()["status"] in (3, 4, 5, 7),
        timeout=90,
    )
    done = tenant.api.get(f"/api/job/read/{job}").json()
    assert done["status"] == 4, done
    assert done["return_value"] == tenant.api.get(f"/api/task/read/{task_guid}").json()
