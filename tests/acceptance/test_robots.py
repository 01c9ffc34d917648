"""Robots and robot groups: Sherpa's shapes, statuses, membership, folders."""

from __future__ import annotations

import time
import uuid

from tests.acceptance.conftest import Tenant
from tests.acceptance.test_permissions import user_with_role
from tests.support.fleet import make_robot, robot_auth


def test_create_and_read_in_sherpas_shape(tenant: Tenant) -> None:
    created = tenant.api.post("/api/robot/create", json={"Name": "bot-1", "Description": "first"})
    assert created.status_code == 200
    body = created.json()
    # Sherpa's keys, and Robofleet's robot secret beside them (shown once).
    sherpa = {"Name": "bot-1", "Description": "first", "GUID": body["GUID"], "Status": 0}
    assert body == {**sherpa, "Secret": body["Secret"]}
    robot = tenant.api.get(f"/api/robot/read/{body['GUID']}").json()
    assert {
        "GUID",
        "Name",
        "Machine",
        "Status",
        "IP",
        "MAC",
        "Description",
        "LicenseExpiration",
        "LicenseString",
        "CreatedAt",
        "UpdatedAt",
        "LastHeartbeatAt",
    } <= set(robot)
    assert isinstance(robot["CreatedAt"], int)
    assert abs(robot["CreatedAt"] - time.time()) < 120
    assert robot["LastHeartbeatAt"] == 0
    assert robot["Type"] == "Unattended" and robot["Active"] == 1
    listed = tenant.api.get("/api/robot/read").json()
    assert [r["GUID"] for r in listed] == [body["GUID"]]


def test_update_status_and_delete(tenant: Tenant) -> None:
    guid = make_robot(tenant.api, "bot-2")
    assert (
        tenant.api.put(
            "/api/robot/update",
            json={"GUID": guid, "Description": "moved", "Type": "attended", "Active": 0},
        ).status_code
        == 200
    )
    robot = tenant.api.get(f"/api/robot/read/{guid}").json()
    assert (robot["Description"], robot["Type"], robot["Active"]) == ("moved", "Attended", False)
    # A robot that never called in is Disconnected by the scheduler's next pass (every 0.2 s in
    # tests), which could land between setStatus and the read below; one heartbeat that
    # reports no status of its own (0) keeps the robot counted as alive.
    with tenant.client(**robot_auth(guid)) as robot_api:
        beat = robot_api.post("/api/robot/heartbeat", json={"RobotGUID": guid, "Status": 0})
        assert beat.status_code == 200 and beat.json()["HeartbeatErrorCode"] == 0
    assert tenant.api.get(f"/api/robot/getStatus/{guid}").json() == {"Status": 0}
    assert (
        tenant.api.put("/api/robot/setStatus", data={"guid": guid, "status": "2"}).status_code
        == 200
    )
    assert tenant.api.get(f"/api/robot/getStatus/{guid}").json() == {"Status": 2}
    bad = tenant.api.put("/api/robot/setStatus", json={"GUID": guid, "Status": 7})
    assert bad.status_code == 422
    assert tenant.api.delete(f"/api/robot/delete/{guid}").json() == []
    assert tenant.api.get(f"/api/robot/read/{guid}").status_code == 404


def test_groups_and_membership(tenant: Tenant) -> None:
    a, b = make_robot(tenant.api, "a"), make_robot(tenant.api, "b")
    group = tenant.api.post("/api/robotGroup/create", json={"Name": "Finance"}).json()["GUID"]
    other = tenant.api.post("/api/robotGroup/create", json={"Name": "HR"}).json()["GUID"]
    for robot in (a, b):
        assert (
            tenant.api.put(
                "/api/robotGroup/addRobot", json={"RobotGroupGuid": group, "RobotGuid": robot}
            ).json()
            == []
        )
    tenant.api.put("/api/robotGroup/addRobot", data={"robot_group_guid": other, "robot_guid": a})
    assert tenant.api.get(f"/api/robotGroup/read/{group}").json()["robots"] == [a, b]
    assert tenant.api.get(f"/api/robot/read/{a}").json()["Groups"] == ["Finance", "HR"]

    # Sherpa documents removal as DELETE on the delete path, with a body.
    removed = tenant.api.request(
        "DELETE", f"/api/robotGroup/delete/{group}", json={"RobotGroupGuid": group, "RobotGuid": a}
    )
    assert removed.status_code == 200
    assert tenant.api.get(f"/api/robotGroup/read/{group}").json()["robots"] == [b]
    tenant.api.request(
        "DELETE", "/api/robotGroup/removeRobot", json={"RobotGroupGuid": group, "RobotGuid": b}
    )
    assert tenant.api.get(f"/api/robotGroup/read/{group}").json()["robots"] == []
    assert tenant.api.delete(f"/api/robotGroup/delete/{group}").status_code == 200
    assert tenant.api.get(f"/api/robotGroup/read/{group}").status_code == 404
    assert tenant.api.get(f"/api/robot/read/{a}").json()["Groups"] == ["HR"]


def test_folders_narrow_what_a_role_reaches(tenant: Tenant) -> None:
    tenant.api.post("/api/accessFolder/create", json={"Name": "Finance"})
    tenant.api.post("/api/accessFolder/create", json={"Name": "HR"})
    in_finance = make_robot(tenant.api, "fin-bot", Folder="Finance")
    in_hr = make_robot(tenant.api, "hr-bot", Folder="HR")
    in_root = make_robot(tenant.api, "root-bot")
    with user_with_role(tenant, {"robot": "cru"}, Folders="Finance") as finance_user:
        visible = {r["Name"] for r in finance_user.get("/api/robot/read").json()}
        assert visible == {"fin-bot", "root-bot"}
        assert finance_user.get(f"/api/robot/read/{in_hr}").status_code == 404
        assert (
            finance_user.put("/api/robot/update", json={"GUID": in_hr, "Name": "x"}).status_code
            == 404
        )
        assert (
            finance_user.put(
                "/api/robot/update", json={"GUID": in_finance, "Description": "ok"}
            ).status_code
            == 200
        )
        assert finance_user.get(f"/api/robot/read/{in_root}").status_code == 200
        denied = finance_user.post("/api/robot/create", json={"Name": "sneak", "Folder": "HR"})
        assert denied.status_code == 403
        assert denied.json()["code"] == "folder_denied"
        assert (
            finance_user.post(
                "/api/robot/create", json={"Name": "fin-2", "Folder": "Finance"}
            ).status_code
            == 200
        )
    with user_with_role(tenant, {"robot": "r"}, AllFolders=True) as everyone:
        assert len(everyone.get("/api/robot/read").json()) == 4
    assert tenant.api.delete("/api/accessFolder/delete/HR").status_code == 409


def test_robot_name_length_and_unknown_group(tenant: Tenant) -> None:
    too_long = tenant.api.post("/api/robot/create", json={"Name": "x" * 300})
    assert too_long.status_code == 422
    missing = tenant.api.post(
        "/api/robot/create", json={"Name": "g", "Groups": [str(uuid.uuid4())]}
    )
    assert missing.status_code == 404
    assert tenant.api.get("/api/robot/read").json() == []
