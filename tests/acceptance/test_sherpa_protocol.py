"""The Sherpa robot protocol driven by hand, with Sherpa's own request forms:
form-encoded snake_case bodies and `Authorization: Basic base64(robot GUID)`."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.acceptance.conftest import Tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth


def robot_client(tenant: Tenant, guid: str) -> httpx.Client:
    return tenant.client(**robot_auth(guid))


def heartbeat(robot: httpx.Client, guid: str, status: int = 2, job: str = "") -> dict:  # type: ignore[type-arg]
    response = robot.post(
        "/api/robot/heartbeat",
        data={
            "RobotGUID": guid,
            "Machine": "WIN-01",
            "IP": "10.0.0.5",
            "MAC": "00:11:22:33:44:55",
            "Status": str(status),
            "JobGUID": job,
            "JobName": "",
            "JobType": "1",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_heartbeat_consume_update_loop(tenant: Tenant) -> None:
    guid = make_robot(tenant.api)
    process = make_process(tenant.api, script="print('hi')\n")
    with robot_client(tenant, guid) as robot:
        first = heartbeat(robot, guid)
        assert first["HeartbeatErrorCode"] == 0 and first["HasNewJob"] == 0
        nothing = robot.post("/api/robot/consumeNextJob", data={"RobotGUID": guid, "Status": "2"})
        assert nothing.json()["ConsumeJobErrorCode"] == 102

        job = create_job(tenant.api, process, Robot=guid, Parameters={"month": "10"})
        assert job["status"] == 1
        assert heartbeat(robot, guid)["HasNewJob"] == 1

        taken = robot.post("/api/robot/consumeNextJob", data={"RobotGUID": guid, "Status": "2"})
        body = taken.json()
        assert body["ConsumeJobErrorCode"] == 0
        job_doc = json.loads(body["Job"])
        version_doc = json.loads(body["ProcessVersion"])
        assert job_doc["GUID"] == job["guid"]
        assert job_doc["Parameters"] == {"month": "10"}
        assert version_doc["Name"] and version_doc["Kind"] == "python"
        assert body["Task"] == "{}"  # no default task: still a JSON string

        assert (
            robot.put("/api/job/update", data={"guid": job_doc["GUID"], "status": "8"}).json() == []
        )
        running = tenant.api.get(f"/api/job/read/{job['guid']}").json()
        assert running["status"] == 8 and running["started_at"] is not None
        assert tenant.api.get(f"/api/robot/read/{guid}").json()["Status"] == 3
        assert heartbeat(robot, guid, status=3, job=job["guid"])["HeartbeatErrorCode"] == 0

        assert robot.put("/api/job/update", data={"guid": job["guid"], "status": "4"}).json() == []
        assert heartbeat(robot, guid)["HasNewJob"] == 0

    done = tenant.api.get(f"/api/job/read/{job['guid']}").json()
    assert done["status"] == 4 and done["status_name"] == "Success"
    assert done["completed_at"] is not None and done["progress"] == 100
    robot_row = tenant.api.get(f"/api/robot/read/{guid}").json()
    assert (robot_row["Machine"], robot_row["IP"], robot_row["Status"]) == ("WIN-01", "10.0.0.5", 2)
    assert robot_row["LastHeartbeatAt"] is not None


def test_unknown_robot_gets_code_101(tenant: Tenant) -> None:
    ghost = str(uuid.uuid4())
    with robot_client(tenant, ghost) as robot:
        assert heartbeat(robot, ghost)["HeartbeatErrorCode"] == 101
        consumed = robot.post("/api/robot/consumeNextJob", data={"RobotGUID": ghost})
        assert consumed.json()["ConsumeJobErrorCode"] == 101
    with tenant.client() as anonymous:
        assert anonymous.post("/api/robot/heartbeat", data={"RobotGUID": ghost}).status_code == 401


def test_stop_and_abort_reach_the_robot(tenant: Tenant) -> None:
    guid = make_robot(tenant.api)
    process = make_process(tenant.api)
    with robot_client(tenant, guid) as robot:
        for command, code, final in (("stop", 20, 7), ("abort", 10, 3)):
            job = create_job(tenant.api, process, Robot=guid)
            robot.post("/api/robot/consumeNextJob", data={"RobotGUID": guid})
            robot.put("/api/job/update", data={"guid": job["guid"], "status": "8"})
            requested = tenant.api.post(f"/api/job/{command}", json={"Guid": job["guid"]})
            assert requested.json()["status"] == (6 if command == "stop" else 2)
            assert heartbeat(robot, guid, status=3, job=job["guid"])["HeartbeatErrorCode"] == code
            robot.put("/api/job/update", data={"guid": job["guid"], "status": str(final)})
            assert tenant.api.get(f"/api/job/read/{job['guid']}").json()["status"] == final


def test_illegal_transitions_get_409_and_change_nothing(tenant: Tenant) -> None:
    guid = make_robot(tenant.api)
    process = make_process(tenant.api)
    job = create_job(tenant.api, process, Robot=guid)
    with robot_client(tenant, guid) as robot:
        robot.post("/api/robot/consumeNextJob", data={"RobotGUID": guid})
        robot.put("/api/job/update", data={"guid": job["guid"], "status": "8"})
        robot.put("/api/job/update", data={"guid": job["guid"], "status": "4"})
        again = robot.put("/api/job/update", data={"guid": job["guid"], "status": "8"})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert "Success" in again.json()["message"] and "In Progress" in again.json()["message"]
    assert tenant.api.get(f"/api/job/read/{job['guid']}").json()["status"] == 4


def test_a_robot_cannot_update_another_robots_job(tenant: Tenant) -> None:
    mine, theirs = make_robot(tenant.api), make_robot(tenant.api)
    process = make_process(tenant.api)
    job = create_job(tenant.api, process, Robot=theirs)
    with robot_client(tenant, mine) as robot:
        response = robot.put("/api/job/update", data={"guid": job["guid"], "status": "8"})
        assert response.status_code == 404  # another robot's job is invisible to this one
        assert (
            robot.post("/api/robot/consumeNextJob", data={"RobotGUID": mine}).json()[
                "ConsumeJobErrorCode"
            ]
            == 102
        )
        spoof = robot.post("/api/robot/heartbeat", data={"RobotGUID": theirs})
        assert spoof.status_code == 403


def test_inactive_robot_gets_no_job_and_is_told_to_stop(tenant: Tenant) -> None:
    guid = make_robot(tenant.api, Active=False)
    create_job(tenant.api, make_process(tenant.api), Robot=guid)
    with robot_client(tenant, guid) as robot:
        beat = heartbeat(robot, guid)
        assert (beat["HasNewJob"], beat["Active"], beat["Command"]) == (0, 0, "stop")
        assert (
            robot.post("/api/robot/consumeNextJob", data={"RobotGUID": guid}).json()[
                "ConsumeJobErrorCode"
            ]
            == 102
        )
        tenant.api.put("/api/robot/update", json={"GUID": guid, "Active": True})
        assert heartbeat(robot, guid)["HasNewJob"] == 1


def test_idle_heartbeat_returns_an_unstarted_job_to_the_queue(tenant: Tenant) -> None:
    first, second = make_robot(tenant.api), make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api))
    with robot_client(tenant, first) as robot:
        taken = robot.post("/api/robot/consumeNextJob", data={"RobotGUID": first}).json()
        assert json.loads(taken["Job"])["GUID"] == job["guid"]
        # The robot restarted before starting the job: it reports itself idle.
        heartbeat(robot, first)
    with robot_client(tenant, second) as robot:
        again = robot.post("/api/robot/consumeNextJob", data={"RobotGUID": second}).json()
    assert json.loads(again["Job"])["GUID"] == job["guid"]


def test_idle_heartbeat_fails_a_started_job(tenant: Tenant) -> None:
    guid = make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=guid)
    with robot_client(tenant, guid) as robot:
        robot.post("/api/robot/consumeNextJob", data={"RobotGUID": guid})
        robot.put("/api/job/update", data={"guid": job["guid"], "status": "8"})
        heartbeat(robot, guid)
    ended = tenant.api.get(f"/api/job/read/{job['guid']}").json()
    assert ended["status"] == 5
    assert "outcome was lost" in ended["last_message"]
