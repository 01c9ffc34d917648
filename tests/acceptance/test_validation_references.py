"""A reference to an object that does not exist, or that belongs to another account, is a 404
that names it, everywhere (issue 8, defect 6), and the request changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.acceptance.conftest import Tenant, make_tenant
from tests.support.fleet import create_job, make_process, make_robot


@dataclass
class Objects:
    """One of each kind of object, in one account."""

    process: str
    version: str
    job: str
    robot: str
    group: str
    queue: str
    task: str
    role: str
    user: str
    folder: str


def objects_of(tenant: Tenant) -> Objects:
    api = tenant.api
    process = make_process(api)
    version = api.get(f"/api/process/read/{process}").json()["process_version_guid"]
    robot = make_robot(api)
    group = api.post("/api/robotGroup/create", json={"Name": "g"}).json()["GUID"]
    queue = api.post("/api/queue/create", json={"Name": "q"}).json()["guid"]
    task = api.post("/api/task/create", json={"Queue": queue, "Name": "t"}).json()["guid"]
    role = api.post("/api/role/create", json={"Name": "r"}).json()["guid"]
    user = api.post(
        "/api/user/create", json={"Login": f"u-{uuid.uuid4().hex[:6]}", "Password": "password-1"}
    ).json()["guid"]
    folder = api.post("/api/accessFolder/create", json={"Name": "f"}).json()["guid"]
    job = str(create_job(api, process)["guid"])
    return Objects(process, version, job, robot, group, queue, task, role, user, folder)


@pytest.fixture
def foreign(tenant: Tenant) -> Iterator[Objects]:
    """Objects of another account on the same server."""
    other = make_tenant(tenant.server)
    try:
        yield objects_of(other)
    finally:
        other.api.close()


def not_found(response: Any, guid: str) -> None:
    assert response.status_code == 404, response.text
    assert guid in response.json()["message"]


def test_a_job_refuses_an_unknown_or_foreign_default_task(tenant: Tenant, foreign: Objects) -> None:
    api = tenant.api
    process = make_process(api)
    jobs_before = api.get("/api/job/list").json()["total"]
    for task in (str(uuid.uuid4()), foreign.task, 999_999_999):
        response = api.post("/api/job/create", json={"Process": process, "Task": task})
        not_found(response, str(task))
    assert api.get("/api/job/list").json()["total"] == jobs_before

    queue = api.post("/api/queue/create", json={"Name": "inputs"}).json()["guid"]
    mine = api.post("/api/task/create", json={"Queue": queue, "Name": "input"}).json()
    job = create_job(api, process, Task=mine["guid"])
    assert job["task_id"] == mine["id"]  # kept, where it used to be dropped
    clone = api.post("/api/job/clone", json={"Guid": job["guid"]}).json()
    assert clone["task_id"] == mine["id"]


def test_a_log_line_refuses_unknown_or_foreign_references(tenant: Tenant, foreign: Objects) -> None:
    api = tenant.api
    process = make_process(api)
    version = api.get(f"/api/process/read/{process}").json()["process_version_guid"]
    robot = make_robot(api)
    job = str(create_job(api, process)["guid"])
    unknown = str(uuid.uuid4())
    cases = [
        ("RobotGuid", unknown),
        ("RobotGuid", foreign.robot),
        ("ProcessVersionGuid", unknown),
        ("ProcessVersionGuid", foreign.version),
        ("JobGuid", unknown),
        ("JobGuid", foreign.job),
        ("JobGuid", "abc"),
    ]
    for field, guid in cases:
        response = api.post("/api/log/create", json={"Message": "m", field: guid})
        not_found(response, guid)
        lines = [{"Message": "good"}, {"Message": "bad", field: guid}]
        not_found(api.post("/api/log/create", json={"Lines": lines}), guid)
    assert api.get("/api/log/list").json() == []  # not one line was written

    fields = {"RobotGuid": robot, "ProcessVersionGuid": version.upper(), "JobGuid": job}
    written = api.post("/api/log/create", json={"Message": "kept", **fields})
    assert written.status_code == 200, written.text
    line = api.get(f"/api/log/read/{written.json()['guid']}").json()
    assert line["robot_id"] is not None
    assert line["process_version_id"] is not None
    assert line["job_id"] is not None
    # Empty GUIDs are "not given", as Sherpa's robots send them.
    blank = {"RobotGuid": "", "ProcessVersionGuid": "", "JobGuid": ""}
    assert api.post("/api/log/create", json={"Message": "m", **blank}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "foreign_field"),
    [
        ("POST", "/api/job/create", {"Process": "{process}"}, None),
        ("POST", "/api/job/create", {"Process": "@process", "Robot": "{robot}"}, "robot"),
        ("POST", "/api/job/create", {"Process": "@process", "RobotGroup": "{group}"}, "group"),
        ("POST", "/api/task/create", {"Queue": "{queue}", "Name": "x"}, None),
        ("POST", "/api/task/take", {"Queue": "@queue", "Job": "{job}"}, "job"),
        ("PUT", "/api/task/update", {"Guid": "@task", "Job": "{job}"}, "job"),
        ("PUT", "/api/task/addTag", {"TaskGuid": "{task}", "TagNames": "a"}, None),
        ("PUT", "/api/process/update", {"Guid": "@process", "CurrentVersion": "{version}"},
         "version"),
        ("POST", "/api/robot/create", {"Name": "r2", "Groups": ["{group}"]}, "group"),
        ("POST", "/api/robot/create", {"Name": "r3", "Folder": "{folder}"}, "folder"),
        ("POST", "/api/user/create", {"Login": "l2", "Password": "password-1",
                                      "Roles": ["{role}"]}, "role"),
        ("PUT", "/api/robotGroup/addRobot", {"RobotGroupGuid": "@group", "RobotGuid": "{robot}"},
         "robot"),
        ("POST", "/api/apiKey/refresh", {"User": "{user}"}, "user"),
        ("POST", "/api/job/stop", {"Guid": "{job}"}, None),
        ("GET", "/api/job/list?Robot={robot}", None, "robot"),
        ("GET", "/api/log/list?Job={job}", None, "job"),
        ("GET", "/api/queue/read/{queue}", None, None),
        ("GET", "/api/processVersion/read/{version}", None, None),
        ("GET", "/api/integration/v1/result/{robot}/{job}", None, "robot"),
    ],
)  # fmt: skip
def test_foreign_references_are_404_everywhere(
    tenant: Tenant,
    foreign: Objects,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    foreign_field: str | None,
) -> None:
    """`{kind}` is the other account's object, `@kind` this account's own."""
    mine = objects_of(tenant)

    def fill(text: str) -> str:
        for kind, guid in vars(foreign).items():
            text = text.replace("{" + kind + "}", guid)
        for kind, guid in vars(mine).items():
            text = text.replace("@" + kind, guid)
        return text

    named = getattr(foreign, foreign_field) if foreign_field else None
    filled = {
        key: [fill(item) for item in value] if isinstance(value, list) else fill(value)
        for key, value in (body or {}).items()
    }
    response = tenant.api.request(method, fill(path), json=filled if body is not None else None)
    assert response.status_code == 404, response.text
    if named:
        assert named in response.json()["message"]
    assert tenant.api.get("/api/job/list").json()["total"] == 1  # objects_of's one job
