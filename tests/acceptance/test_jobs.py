"""Jobs: targeting, priority order, listing, stop/abort before start, clone, delete."""

from __future__ import annotations

import json
import time

from tests.acceptance.conftest import Tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth


def take(tenant: Tenant, robot: str) -> str | None:
    with tenant.client(**robot_auth(robot)) as client:
        body = client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot}).json()
    return json.loads(body["Job"])["GUID"] if body["ConsumeJobErrorCode"] == 0 else None


def finish(tenant: Tenant, robot: str, job: str, status: int = 4) -> None:
    with tenant.client(**robot_auth(robot)) as client:
        client.put("/api/job/update", json={"Guid": job, "Status": 8})
        client.put("/api/job/update", json={"Guid": job, "Status": status})


def test_higher_priority_first_then_oldest(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    low = create_job(tenant.api, process, Priority="Low")["guid"]
    normal_1 = create_job(tenant.api, process)["guid"]
    high = create_job(tenant.api, process, Priority=3)["guid"]
    normal_2 = create_job(tenant.api, process, Priority="normal")["guid"]
    order = []
    for _ in range(4):
        job = take(tenant, robot)
        assert job is not None
        order.append(job)
        finish(tenant, robot, job)
    assert order == [high, normal_1, normal_2, low]
    assert take(tenant, robot) is None


def test_targets_robot_group_or_anyone(tenant: Tenant) -> None:
    alice, bob, carol = (make_robot(tenant.api, n) for n in ("alice", "bob", "carol"))
    tenant.api.post("/api/robotGroup/create", json={"Name": "Pair"})
    for robot in (alice, bob):
        tenant.api.put(
            "/api/robotGroup/addRobot", json={"RobotGroupGuid": "Pair", "RobotGuid": robot}
        )
    process = make_process(tenant.api)
    for_carol = create_job(tenant.api, process, Robot="carol")["guid"]
    for_group = create_job(tenant.api, process, RobotGroup="Pair")["guid"]
    assert take(tenant, alice) == for_group
    assert take(tenant, bob) is None  # its group's job is taken; carol's is not for bob
    assert take(tenant, carol) == for_carol
    anyone = create_job(tenant.api, process)["guid"]
    assert take(tenant, bob) == anyone
    read = tenant.api.get(f"/api/job/read/{for_group}").json()
    assert (read["robot_guid"], read["robot_group_guid"]) == (alice, read["robot_group_guid"])
    assert read["robot_name"] == "alice"


def test_a_robot_runs_one_job_at_a_time(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    create_job(tenant.api, process, Robot=robot)
    create_job(tenant.api, process, Robot=robot)
    first = take(tenant, robot)
    assert first is not None
    assert take(tenant, robot) is None
    finish(tenant, robot, first)
    assert take(tenant, robot) is not None


def test_stop_or_abort_before_start_ends_at_once(tenant: Tenant) -> None:
    process = make_process(tenant.api)
    stopped = create_job(tenant.api, process)["guid"]
    aborted = create_job(tenant.api, process)["guid"]
    assert tenant.api.post("/api/job/stop", json={"Guid": stopped}).json()["status"] == 7
    assert tenant.api.post("/api/job/abort", data={"guid": aborted}).json()["status"] == 3
    again = tenant.api.post("/api/job/stop", json={"Guid": stopped})
    assert again.status_code == 409
    assert take(tenant, make_robot(tenant.api)) is None


def test_list_filters_and_paging(tenant: Tenant) -> None:
    robot = make_robot(tenant.api, "lister")
    one, two = make_process(tenant.api, "One"), make_process(tenant.api, "Two")
    for _ in range(3):
        create_job(tenant.api, one)
    create_job(tenant.api, two, Robot=robot, Source="GUI")
    page = tenant.api.get("/api/job/list", params={"Count": 2}).json()
    assert (page["total"], page["count"], len(page["items"])) == (4, 2, 2)
    assert page["items"][0]["process_name"] == "Two"  # newest first
    second = tenant.api.get("/api/job/list", params={"Count": 2, "Offset": 2}).json()
    assert {j["guid"] for j in second["items"]}.isdisjoint({j["guid"] for j in page["items"]})
    assert tenant.api.get("/api/job/list", params={"Process": "One"}).json()["total"] == 3
    assert tenant.api.get("/api/job/list", params={"source": "GUI"}).json()["total"] == 1
    assert tenant.api.get("/api/job/list", params={"Robot": "lister"}).json()["total"] == 1
    assert tenant.api.get("/api/job/list", params={"Status": "1,8"}).json()["total"] == 4
    assert tenant.api.get("/api/job/list", params={"Status": "4"}).json()["total"] == 0
    later = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 3600))
    assert tenant.api.get("/api/job/list", params={"Since": later}).json()["total"] == 0
    bad = tenant.api.get("/api/job/list", params={"Count": 0})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "Count"


def test_clone_and_delete(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    original = create_job(tenant.api, process, Robot=robot, Priority=3, Parameters={"a": 1})["guid"]
    refused = tenant.api.delete(f"/api/job/delete/{original}")
    assert refused.status_code == 409
    clone = tenant.api.post("/api/job/clone", json={"Guid": original}).json()
    assert clone["guid"] != original
    assert (clone["priority"], clone["parameters"], clone["robot_guid"]) == (3, {"a": 1}, robot)
    job = take(tenant, robot)
    assert job is not None
    finish(tenant, robot, job, status=5)
    assert tenant.api.delete(f"/api/job/delete/{job}").status_code == 200
    assert tenant.api.get(f"/api/job/read/{job}").status_code == 404


def test_bad_job_input(tenant: Tenant) -> None:
    process = make_process(tenant.api)
    cases = [
        ({"Process": process, "Priority": 9}, "Priority"),
        ({"Process": process, "Robot": "nobody"}, None),
        ({"Process": process, "Parameters": "{not json"}, "Parameters"),
        ({"Process": process, "StopAfter": "tomorrow"}, "StopAfter"),
        (
            {
                "Process": process,
                "StopAfter": "2030-01-02 00:00:00",
                "AbortAfter": "2030-01-01 00:00:00",
            },
            "AbortAfter",
        ),
    ]
    for body, field in cases:
        response = tenant.api.post("/api/job/create", json=body)
        assert response.status_code in (404, 422), (body, response.text)
        if field:
            assert response.json()["details"][0]["field"] == field, response.json()
    assert tenant.api.get("/api/job/list").json()["total"] == 0


def test_progress_message_and_return_value(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=robot)["guid"]
    assert take(tenant, robot) == job
    with tenant.client(**robot_auth(robot)) as client:
        client.put("/api/job/update", json={"Guid": job, "Status": 8})
        client.put("/api/job/update", data={"guid": job, "progress": "40", "message": "half"})
        mid = tenant.api.get(f"/api/job/read/{job}").json()
        assert (mid["progress"], mid["last_message"]) == (40, "half")
        client.put("/api/job/update", json={"Guid": job, "Status": 4, "ReturnValue": {"rows": 12}})
    done = tenant.api.get(f"/api/job/read/{job}").json()
    assert done["return_value"] == {"rows": 12}
