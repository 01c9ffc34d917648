"""The /robocorp API's rules over the wire, with a plain HTTP client: the token's reach,
idempotent releases, 400 for bad input, and what a job's end settles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from robofleet.contract import JobStatus, TaskStatus
from tests.acceptance.conftest import Tenant, make_tenant
from tests.acceptance.robocorp.conftest import TakenJob, end_job, take_robocorp_job
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.server import ServerProcess


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


class Robocorp:
    """The calls the libraries make, by hand."""

    def __init__(self, tenant: Tenant, job: TakenJob, token: str | None = None) -> None:
        self.job = job
        rc = job.robocorp
        headers = {"Authorization": f"Bearer {token or rc['Token']}"}
        self.http = httpx.Client(base_url=f"{tenant.server.url}/robocorp", headers=headers)
        self.items = f"/json-v1/workspaces/{rc['WorkspaceId']}/workitems"
        self.process = f"/process-v1/workspaces/{rc['WorkspaceId']}/processes/{rc['ProcessId']}"
        self.run = f"{self.process}/runs/{job.guid}/robotRuns/{job.guid}"

    def reserve(self) -> httpx.Response:
        return self.http.post(f"{self.run}/reserve-next-work-item")

    def release(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{self.run}/release-work-item", json=body)


@pytest.fixture
def queue(tenant: Tenant) -> str:
    return str(ok(tenant.api.post("/api/queue/create", json={"Name": "Inbox"}))["guid"])


def add_task(tenant: Tenant, queue: str, name: str) -> str:
    body = {"Queue": queue, "Name": name, "Parameters": {"name": name}}
    return str(ok(tenant.api.post("/api/task/create", json=body))["guid"])


def status(tenant: Tenant, task: str) -> int:
    return int(ok(tenant.api.get(f"/api/task/read/{task}"))["status"])


def test_a_failed_job_fails_the_items_its_robot_held(tenant: Tenant, queue: str) -> None:
    first, second = add_task(tenant, queue, "a"), add_task(tenant, queue, "b")
    job = take_robocorp_job(tenant, task=first)
    rc = Robocorp(tenant, job)
    assert ok(rc.reserve()) == {"workItemId": second}
    output = ok(rc.http.post(f"{rc.process}/work-items/{second}/output", json={"payload": None}))
    end_job(tenant, job, JobStatus.FAILED)
    for task in (first, second):
        read = ok(tenant.api.get(f"/api/task/read/{task}"))
        assert read["status"] == TaskStatus.FAILED_APPLICATION
        assert read["error"]["type"] == "JobEnded"
    released = ok(tenant.api.get(f"/api/task/read/{output['id']}"))
    assert (released["status"], released["parameters"]) == (TaskStatus.NEW, {})
    # The token still works for the grace period, but nothing new is taken for the job.
    assert ok(rc.http.get(f"{rc.items}/{first}/data")) == {"name": "a"}
    refused = rc.reserve()
    assert refused.status_code == 409 and refused.json()["code"] == "job_ended"


def test_releases_repeat_and_bad_input_is_400(tenant: Tenant, queue: str) -> None:
    first = add_task(tenant, queue, "a")
    job = take_robocorp_job(tenant, task=first)
    rc = Robocorp(tenant, job)
    done = {"workItemId": first, "state": "COMPLETED"}
    assert rc.release(done).status_code == 200
    assert rc.release(done).status_code == 200  # a retry after a lost answer
    assert status(tenant, first) == TaskStatus.SUCCESS
    business = {"workItemId": first, "state": "FAILED", "exception": {"type": "BUSINESS"}}
    conflict = rc.release(business)
    assert conflict.status_code == 409 and conflict.json()["code"] == "not_reserved"

    for body, problem in [
        ({"workItemId": first, "state": "DONE"}, "'state' must be COMPLETED or FAILED"),
        ({"state": "COMPLETED"}, "'workItemId'"),
        ({"workItemId": first, "state": "FAILED", "exception": {"type": "X"}}, "BUSINESS"),
    ]:
        answer = rc.release(body)
        assert answer.status_code == 400, answer.text
        assert problem in answer.json()["message"]
    not_json = rc.http.post(f"{rc.run}/release-work-item", content=b"{no")
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["message"]
    a_list = rc.http.put(f"{rc.items}/{first}/data", json=[1, 2])
    assert a_list.status_code == 400 and "JSON object" in a_list.json()["message"]
    assert ok(tenant.api.get(f"/api/task/read/{first}"))["parameters"] == {"name": "a"}
    # An empty body is a None payload: {}.
    assert rc.http.put(f"{rc.items}/{first}/data", content=b"").status_code == 200
    assert ok(tenant.api.get(f"/api/task/read/{first}"))["parameters"] == {}
    # The queue is empty: the library's EmptyQueue.
    assert ok(rc.reserve()) == {"workItemId": None}


def test_the_token_reaches_its_own_job_only(tenant: Tenant, queue: str) -> None:
    mine, theirs = add_task(tenant, queue, "mine"), add_task(tenant, queue, "theirs")
    job = take_robocorp_job(tenant, task=mine)
    other = take_robocorp_job(tenant, task=theirs)
    rc = Robocorp(tenant, job)
    assert rc.http.get(f"{rc.items}/{theirs}/data").status_code == 404
    assert rc.release({"workItemId": theirs, "state": "COMPLETED"}).status_code == 404
    # Text that is no GUID names no item (and never reaches PostgreSQL's `uuid` column).
    for stranger in ("not-an-item", "12"):
        assert rc.http.get(f"{rc.items}/{stranger}/data").status_code == 404
        assert rc.release({"workItemId": stranger, "state": "COMPLETED"}).status_code == 404
    wrong_run = rc.http.post(
        f"{rc.process}/runs/{other.guid}/robotRuns/{other.guid}/reserve-next-work-item"
    )
    assert wrong_run.status_code == 404
    wrong_space = rc.http.get(f"/json-v1/workspaces/{other.robot}/workitems/{mine}/data")
    assert wrong_space.status_code == 403
    for token in ("", "Bearer nonsense", f"Bearer {job.robocorp['Token']}x"):
        with httpx.Client(base_url=f"{tenant.server.url}/robocorp") as anonymous:
            headers = {"Authorization": token} if token else {}
            answer = anonymous.get(f"{rc.items}/{mine}/data", headers=headers)
            assert answer.status_code == 401, answer.text
    assert status(tenant, theirs) == TaskStatus.IN_PROGRESS


def test_only_robocorp_jobs_get_a_token(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    create_job(tenant.api, process, Robot=robot)
    with tenant.client(**robot_auth(robot)) as client:
        taken = ok(client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot}))
    assert "Robocorp" not in json.loads(taken["Job"])


def test_a_job_without_a_default_task_has_no_input(tenant: Tenant) -> None:
    job = take_robocorp_job(tenant)
    assert job.robocorp["WorkItemId"] == ""
    assert ok(Robocorp(tenant, job).reserve()) == {"workItemId": None}


def test_signed_upload_urls_refuse_changes(tenant: Tenant, queue: str) -> None:
    first = add_task(tenant, queue, "a")
    job = take_robocorp_job(tenant, task=first)
    rc = Robocorp(tenant, job)
    url = ok(rc.http.post(f"{rc.items}/{first}/files", json={"fileName": "a.txt", "fileSize": 1}))
    files = {"file": ("a.txt", b"x")}
    changed = url["url"].replace("name=a.txt", "name=b.txt")
    with httpx.Client() as anonymous:
        assert anonymous.post(changed, files=files).status_code == 403
        assert anonymous.post(url["url"], files=files).status_code == 204
    assert [f["fileName"] for f in ok(rc.http.get(f"{rc.items}/{first}/files"))] == ["a.txt"]


@pytest.fixture
def no_grace(tmp_path: Path) -> Iterator[Tenant]:
    server = ServerProcess(
        data_dir=tmp_path / "data", env={"ROBOFLEET_ROBOCORP_TOKEN_GRACE_SECONDS": "0"}
    ).start()
    tenant = make_tenant(server)
    yield tenant
    tenant.api.close()
    server.stop()


def test_a_token_ends_with_its_job(no_grace: Tenant) -> None:
    job = take_robocorp_job(no_grace)
    rc = Robocorp(no_grace, job)
    assert rc.reserve().status_code == 200
    end_job(no_grace, job, JobStatus.SUCCESS)
    expired = rc.reserve()
    assert expired.status_code == 401 and expired.json()["code"] == "token_expired"
