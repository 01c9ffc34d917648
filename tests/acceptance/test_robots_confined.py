"""A robot's credentials reach only its own robot row, its own jobs, their packages and logs,
and the account's queues: robot B can neither learn robot A's GUID nor take, read or report
A's job. What a robot may not see answers 404 (as another account's objects do); what robots
may never do answers 403."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.acceptance.conftest import Tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import add, make_queue


def as_robot(tenant: Tenant, guid: str) -> httpx.Client:
    return tenant.client(**robot_auth(guid))


def consume(robot: httpx.Client, guid: str) -> dict[str, Any]:
    body = robot.post("/api/robot/consumeNextJob", json={"RobotGUID": guid}).json()
    assert isinstance(body, dict)
    return body


def test_robot_b_cannot_list_robots_nor_read_robot_a(tenant: Tenant) -> None:
    a, b = make_robot(tenant.api, "robot-a"), make_robot(tenant.api, "robot-b")
    a_id = tenant.api.get(f"/api/robot/read/{a}").json()["Id"]
    with as_robot(tenant, b) as robot_b:
        listed = robot_b.get("/api/robot/read")
        assert listed.status_code == 403, listed.text
        assert listed.json()["code"] == "own_objects_only"
        assert a not in listed.text
        for path in (
            f"/api/robot/read/{a}",
            f"/api/robot/read/{a_id}",
            "/api/robot/read/robot-a",
            f"/api/robot/getStatus/{a}",
        ):
            refused = robot_b.get(path)
            assert refused.status_code == 404, (path, refused.text)
            assert refused.json()["code"] == "not_found"  # the same as for no robot at all
        own = robot_b.get(f"/api/robot/read/{b}")
        assert own.status_code == 200 and own.json()["GUID"] == b
        assert robot_b.get(f"/api/robot/getStatus/{b}").status_code == 200
        # Nor does a robot change robots, its own included: that is an operator's work.
        assert robot_b.put("/api/robot/update", json={"Guid": b, "Name": "x"}).status_code == 403
        assert robot_b.post("/api/robot/create", json={"Name": "mine"}).status_code == 403
        issued = robot_b.post("/api/robot/issueSecret", json={"Guid": b})
        assert issued.status_code == 403
    assert tenant.api.get(f"/api/robot/read/{b}").json()["Name"] == "robot-b"


def test_robot_b_cannot_read_robot_as_job_or_its_parameters(tenant: Tenant) -> None:
    a, b = make_robot(tenant.api), make_robot(tenant.api)
    process = make_process(tenant.api)
    job = create_job(tenant.api, process, Robot=a, Parameters={"password": "hunter2"})
    with as_robot(tenant, b) as robot_b:
        for path in (f"/api/job/read/{job['guid']}", f"/api/job/read/{job['id']}"):
            refused = robot_b.get(path)
            assert refused.status_code == 404, (path, refused.text)
            assert "hunter2" not in refused.text
        listed = robot_b.get("/api/job/list")
        assert listed.status_code == 200
        assert listed.json()["total"] == 0 and "hunter2" not in listed.text
        by_robot = robot_b.get("/api/job/list", params={"Robot": a})
        assert by_robot.status_code == 404
        assert robot_b.get("/api/log/list", params={"JobGuid": job["guid"]}).status_code == 404
    with as_robot(tenant, a) as robot_a:
        own = robot_a.get(f"/api/job/read/{job['guid']}")
        assert own.status_code == 200 and own.json()["parameters"] == {"password": "hunter2"}
        assert robot_a.get("/api/job/list").json()["total"] == 1


def test_robot_b_never_takes_nor_reports_robot_as_job(tenant: Tenant) -> None:
    a, b = make_robot(tenant.api), make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=a)["guid"]
    with as_robot(tenant, b) as robot_b:
        assert consume(robot_b, b)["ConsumeJobErrorCode"] == 102
        waited = robot_b.post("/api/robot/waitJob", json={"RobotGUID": b, "Timeout": 1}).json()
        assert waited["ConsumeJobErrorCode"] == 102
        # Naming A in the body does not make B robot A.
        spoof = robot_b.post("/api/robot/consumeNextJob", json={"RobotGUID": a})
        assert spoof.status_code == 403
        for status in (8, 4):
            taken = robot_b.put("/api/job/update", json={"Guid": job, "Status": status})
            assert taken.status_code == 404, taken.text
        assert robot_b.post("/api/job/stop", json={"Guid": job}).status_code == 404
    pending = tenant.api.get(f"/api/job/read/{job}").json()
    assert (pending["status"], pending["robot_guid"], pending["started_at"]) == (1, a, None)

    with as_robot(tenant, a) as robot_a:
        assert json.loads(consume(robot_a, a)["Job"])["GUID"] == job
        assert robot_a.put("/api/job/update", json={"Guid": job, "Status": 8}).status_code == 200
    with as_robot(tenant, b) as robot_b:
        reported = robot_b.put(
            "/api/job/update", json={"Guid": job, "Status": 4, "ReturnValue": {"forged": True}}
        )
        assert reported.status_code == 404
        logged = robot_b.post("/api/log/create", json={"JobGUID": job, "Message": "forged"})
        assert logged.status_code == 404
    running = tenant.api.get(f"/api/job/read/{job}").json()
    assert (running["status"], running["return_value"], running["robot_guid"]) == (8, None, a)
    assert "forged" not in tenant.api.get("/api/log/list", params={"JobGuid": job}).text


def test_robot_b_cannot_download_robot_as_package(tenant: Tenant) -> None:
    a, b = make_robot(tenant.api), make_robot(tenant.api)
    process = make_process(tenant.api, script="print('only for robot a')\n")
    job = create_job(tenant.api, process, Robot=a)["guid"]
    with as_robot(tenant, a) as robot_a:
        version = json.loads(consume(robot_a, a)["ProcessVersion"])["GUID"]
        mine = robot_a.get(f"/api/processVersion/download/{version}")
        assert mine.status_code == 200 and b"only for robot a" in mine.content
    with as_robot(tenant, b) as robot_b:
        refused = robot_b.get(f"/api/processVersion/download/{version}")
        assert refused.status_code == 404
        assert b"only for robot a" not in refused.content
        assert robot_b.get(f"/api/processVersion/read/{version}").status_code == 404
        assert robot_b.get(f"/api/process/read/{process}").status_code == 403
    # Once B has a job of that version, its package is B's to fetch too.
    create_job(tenant.api, process, Robot=b)
    with as_robot(tenant, b) as robot_b:
        assert json.loads(consume(robot_b, b)["ProcessVersion"])["GUID"] == version
        assert robot_b.get(f"/api/processVersion/download/{version}").status_code == 200
    assert tenant.api.get(f"/api/job/read/{job}").json()["robot_guid"] == a


def test_robot_b_reads_only_its_own_log_lines(tenant: Tenant) -> None:
    a, b = make_robot(tenant.api), make_robot(tenant.api)
    process = make_process(tenant.api)
    job_a = create_job(tenant.api, process, Robot=a)["guid"]
    with as_robot(tenant, a) as robot_a:
        consume(robot_a, a)
        line = robot_a.post("/api/log/create", json={"JobGUID": job_a, "Message": "a's secret"})
        assert line.status_code == 200
        assert "a's secret" in robot_a.get("/api/log/list").text
    with as_robot(tenant, b) as robot_b:
        robot_b.post("/api/log/create", json={"Message": "b was here"})
        listed = robot_b.get("/api/log/list")
        assert listed.status_code == 200
        assert [row["Message"] for row in listed.json()] == ["b was here"]
        assert robot_b.get(f"/api/log/read/{line.json()['guid']}").status_code == 404
        assert robot_b.get("/api/log/list", params={"Robot": a}).status_code == 404
        as_a = robot_b.post("/api/log/create", json={"RobotGUID": a, "Message": "I am A"})
        assert as_a.status_code == 404
    assert "I am A" not in tenant.api.get("/api/log/list").text


def test_robot_b_still_does_all_of_its_own_work(tenant: Tenant) -> None:
    b = make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=b, Parameters={"n": 1})["guid"]
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "first")
    with as_robot(tenant, b) as robot_b:
        beat = robot_b.post("/api/robot/heartbeat", json={"RobotGUID": b, "Status": 2}).json()
        assert (beat["HeartbeatErrorCode"], beat["HasNewJob"]) == (0, 1)
        taken = consume(robot_b, b)
        assert json.loads(taken["Job"])["GUID"] == job
        version = json.loads(taken["ProcessVersion"])["GUID"]
        assert robot_b.get(f"/api/processVersion/download/{version}").status_code == 200
        assert robot_b.put("/api/job/update", json={"Guid": job, "Status": 8}).status_code == 200
        assert robot_b.get(f"/api/job/read/{job}").json()["parameters"] == {"n": 1}
        logged = robot_b.post("/api/log/create", json={"JobGUID": job, "Message": "working"})
        assert logged.status_code == 200
        lines = robot_b.get("/api/log/list", params={"Job": job}).json()
        assert [line["Message"] for line in lines] == ["working"]
        # Queue work: add, take, renew, finish and read, in the account's queues.
        assert robot_b.get("/api/queue/list").status_code == 200
        added = robot_b.post("/api/task/create", json={"Queue": queue, "Name": "second"})
        assert added.status_code == 200, added.text
        tasks = robot_b.post("/api/task/take", json={"Queue": queue, "Count": 2}).json()["tasks"]
        assert {t["name"] for t in tasks} == {"first", "second"}
        assert {t["job_guid"] for t in tasks} == {job}
        renewed = robot_b.post(
            "/api/task/renew", json={"Guid": tasks[0]["guid"], "LeaseId": tasks[0]["lease_id"]}
        )
        assert renewed.status_code == 200, renewed.text
        for task in tasks:
            done = robot_b.post(
                "/api/task/finish",
                json={"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2},
            )
            assert done.status_code == 200, done.text
            assert robot_b.get(f"/api/task/read/{task['guid']}").json()["status"] == 2
        beat = robot_b.post(
            "/api/robot/heartbeat", json={"RobotGUID": b, "Status": 3, "JobGUID": job}
        ).json()
        assert beat["HeartbeatErrorCode"] == 0
        assert robot_b.put("/api/job/update", json={"Guid": job, "Status": 4}).status_code == 200
    assert tenant.api.get(f"/api/job/read/{job}").json()["status"] == 4


def test_a_robot_is_refused_what_only_operators_do(tenant: Tenant) -> None:
    b = make_robot(tenant.api)
    process = make_process(tenant.api)
    with as_robot(tenant, b) as robot_b:
        for method, path, body in (
            ("POST", "/api/job/create", {"Process": process}),
            ("GET", "/api/process/read", None),
            ("GET", "/api/user/read", None),
            ("GET", "/api/role/read", None),
            ("GET", "/api/robotGroup/read", None),
            ("POST", "/api/queue/create", {"Name": "robots-queue"}),
        ):
            refused = robot_b.request(method, path, json=body)
            assert refused.status_code == 403, (path, refused.text)
    assert tenant.api.get("/api/job/list").json()["total"] == 0
