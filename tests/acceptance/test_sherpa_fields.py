"""Issue 9, point 8: every field Sherpa's pages document for a call is accepted (stored, or
ignored as docs/decisions.md says); a field nobody documents is refused by name."""

from __future__ import annotations

import base64
import uuid

from tests.acceptance.conftest import Tenant


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(key.encode("utf-8")).decode("utf-8")}


def ok(response: object) -> object:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == 200, (response.request.url, response.text)
    return response.json()


def test_every_documented_parameter_of_every_call(tenant: Tenant) -> None:
    """Each call with all the parameters its Sherpa page lists, in the page's spelling."""
    api = tenant.client(**basic(tenant.key))  # the Python example's header
    robot = ok(api.post("/api/robot/create", json={"Name": "Test Robot", "Description": "d"}))
    assert isinstance(robot, dict)
    guid = robot["GUID"]
    ok(
        api.put(
            "/api/robot/update",
            json={"GUID": guid, "Name": "Test Robot 2", "Description": "d2", "Status": 0},
        )
    )
    ok(api.put("/api/robot/setStatus", json={"GUID": guid, "STATUS": 1}))
    assert ok(api.get(f"/api/robot/getStatus/{guid}")) == {"Status": 1}

    group = ok(api.post("/api/robotGroup/create", json={"Name": "G", "Description": "g"}))
    assert isinstance(group, dict)
    ok(api.put("/api/robotGroup/update", json={"GUID": group["GUID"], "Name": "G2"}))
    membership = {"RobotGroupGuid": group["GUID"], "RobotGuid": guid}
    ok(api.put("/api/robotGroup/addRobot", json=membership))
    ok(api.request("DELETE", f"/api/robotGroup/delete/{group['GUID']}", json=membership))

    process = ok(
        api.post(
            "/api/process/create",
            json={"Name": "P", "Description": "p", "MinVersionToRun": 1.05, "ProcessType": 0},
        )
    )
    assert isinstance(process, dict)
    ok(
        api.put(
            "/api/process/update",
            json={
                "Guid": process["guid"],
                "Name": "P2",
                "Description": "p2",
                "MinVersionToRun": "1.14",
                "ProcessType": 0,
            },
        )
    )
    version = ok(
        api.post(
            "/api/processVersion/create",
            data={"Name": "V", "Description": "v", "ProcessGuid": process["guid"]},
            files={"ProcessFile": ("main.py", b"print(1)\n", "application/octet-stream")},
        )
    )
    assert isinstance(version, dict)
    ok(
        api.post(
            "/api/processVersion/update",
            data={
                "Guid": version["guid"],
                "Name": "V2",
                "Description": "v2",
                "ProcessGuid": process["guid"],
            },
            files={"ProcessFile": ("main.py", b"print(2)\n", "application/octet-stream")},
        )
    )

    queue = ok(
        api.post(
            "/api/queue/create",
            json={"Name": "Q", "Description": "q", "UniqueTasks": 1, "AutoChangeStatus": 1},
        )
    )
    assert isinstance(queue, dict)
    ok(
        api.put(
            "/api/queue/update",
            json={
                "Guid": queue["guid"],
                "Name": "Q2",
                "Description": "q2",
                "UniqueTasks": 0,
                "AutoChangeStatus": 0,
            },
        )
    )
    task_fields = {
        "Name": "T",
        "QueueGuid": queue["guid"],
        "Description": "t",
        "Comment": "c",
        "Deadline": "2030-09-30 10:30:00",
        "Retries": "0",
        "Tags": "test;mytask;",
        "Parameters": '{"a": "1"}',
    }
    task = ok(api.post("/api/task/create", json=task_fields))
    assert isinstance(task, dict)
    ok(api.put("/api/task/update", json={**task_fields, "Guid": task["guid"], "Status": 0}))
    ok(api.put("/api/task/addTag", json={"TaskGuid": task["guid"], "TagNames": "x;y;"}))
    ok(
        api.request(
            "DELETE", "/api/task/removeTag", json={"TaskGuid": task["guid"], "TagNames": "x;"}
        )
    )
    found = ok(api.post(f"/api/task/filter/read/{queue['guid']}", json={"Name": "T"}))
    assert isinstance(found, dict) and found["guid"] == task["guid"]
    assert len(ok(api.post(f"/api/task/filter/list/{queue['guid']}", json={"Name": "Q2"}))) == 1  # type: ignore[arg-type]

    # job/create's page lists `Guid`; the Designer block adds process, robot, task, times.
    sent = str(uuid.uuid4())
    job = ok(
        api.post(
            "/api/job/create",
            json={
                "Guid": sent,
                "Process": process["guid"],
                "Robot": guid,
                "Task": task["guid"],
                "StopAfter": "2030-03-04 12:00:00",
                "AbortAfter": "2030-03-04 13:00:00",
                "Priority": 2,
            },
        )
    )
    assert isinstance(job, dict) and job["guid"] != sent  # the server names its jobs
    ok(api.put("/api/job/update", json={"Guid": job["guid"], "Status": 6}))

    line = ok(
        api.post(
            "/api/log/create",
            json={
                "RobotGUID": guid,
                "ProcessVersionGUID": version["guid"],
                "JobGUID": job["guid"],
                "Level": 1,
                "Message": "no message",
            },
        )
    )
    assert isinstance(line, dict) and "guid" in line
    assert ok(api.request("DELETE", "/api/log/purge", json={"Time": "1590481487"})) == []
    api.close()


def test_fields_nobody_documents_are_refused_by_name(tenant: Tenant) -> None:
    process = tenant.api.post("/api/process/create", json={"Name": "P"}).json()["guid"]
    cases = [
        ("/api/job/create", {"Process": process, "Colour": "red"}, "Colour"),
        ("/api/process/create", {"Name": "X", "Flavour": 1}, "Flavour"),
        ("/api/queue/create", {"Name": "Q", "Speed": "fast"}, "Speed"),
    ]
    for path, body, field in cases:
        response = tenant.api.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert field in response.json()["message"], response.json()
        assert response.json()["details"][0]["field"] == field
    assert tenant.api.get("/api/job/list").json()["total"] == 0  # nothing was created


def test_designers_postponed_field_is_accepted(tenant: Tenant) -> None:
    queue = tenant.api.post("/api/queue/create", json={"Name": "Q"}).json()["guid"]
    task = tenant.api.post(
        "/api/task/create",
        json={"Name": "later", "QueueGuid": queue, "Postponed": "2030-01-01 00:00:00"},
    )
    assert task.status_code == 200, task.text
    row = tenant.api.get(f"/api/task/read/{task.json()['guid']}").json()
    assert (row["status"], row["postponed"]) == (5, "2030-01-01 00:00:00")
