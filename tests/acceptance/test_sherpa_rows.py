"""Issue 9, points 4 and 7: read rows carry the keys of Sherpa's examples, with 0/1 flags,
0 for "never", log levels as numbers; log/create and task/filter/list as Sherpa's pages
show them."""

from __future__ import annotations

import base64

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_process, make_robot


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(key.encode("utf-8")).decode("utf-8")}


# The keys of Sherpa's read examples, tab by tab.
PROCESS_KEYS = {
    "id",
    "guid",
    "name",
    "description",
    "process_version_id",
    "min_version_to_run",
    "created",
    "updated",
    "is_deleted",
    "account_id",
    "process_type",
    "process_version_guid",
}
VERSION_KEYS = {
    "id",
    "guid",
    "process_id",
    "name",
    "description",
    "process_file_name",
    "created",
    "updated",
    "is_deleted",
    "account_id",
}
GROUP_KEYS = {
    "id",
    "guid",
    "name",
    "description",
    "created",
    "updated",
    "is_deleted",
    "account_id",
}
QUEUE_KEYS = {"id", "guid", "name", "description", "auto_change_status", "unique_tasks"}
TASK_KEYS = {
    "id",
    "guid",
    "queue_id",
    "name",
    "description",
    "status",
    "job_id",
    "priority",
    "created",
    "started",
    "postponed",
    "deadline",
    "updated",
    "comment",
    "is_deleted",
    "account_id",
    "tags",
    "retries",
    "parent_task",
}
ROBOT_KEYS = {
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
}
LOG_KEYS = {
    "id",
    "guid",
    "robot_id",
    "process_version_id",
    "job_id",
    "Level",
    "Message",
    "created_at",
    "updated_at",
}


def is_bit(value: object) -> bool:
    return type(value) is int and value in (0, 1)


def test_process_version_and_group_rows(tenant: Tenant) -> None:
    process = make_process(tenant.api)
    row = tenant.api.get(f"/api/process/read/{process}").json()
    assert set(row) >= PROCESS_KEYS, PROCESS_KEYS - set(row)
    assert row["created"] and row["updated"] and is_bit(row["is_deleted"])
    assert row["created"] == row["created_at"]  # ours kept beside Sherpa's

    version = tenant.api.get(f"/api/processVersion/read/{row['process_version_guid']}").json()
    assert set(version) >= VERSION_KEYS, VERSION_KEYS - set(version)
    assert version["process_id"] == row["id"] and version["process_file_name"] == "main.py"
    assert is_bit(version["is_deleted"]) and version["is_current"] == 1

    created = tenant.api.post("/api/robotGroup/create", json={"Name": "Test Robots"})
    assert created.status_code == 200 and set(created.json()) == {"GUID"}
    group = tenant.api.get(f"/api/robotGroup/read/{created.json()['GUID']}").json()
    assert set(group) >= GROUP_KEYS, GROUP_KEYS - set(group)
    assert group["name"] == "Test Robots" and is_bit(group["is_deleted"])


def test_queue_and_task_rows_answer_flags_as_numbers(tenant: Tenant) -> None:
    made = tenant.api.post(
        "/api/queue/create", json={"Name": "Test Queue", "UniqueTasks": 1, "AutoChangeStatus": 0}
    )
    assert made.status_code == 200, made.text
    queue = tenant.api.get(f"/api/queue/read/{made.json()['guid']}").json()
    assert set(queue) >= QUEUE_KEYS
    assert (queue["unique_tasks"], queue["auto_change_status"]) == (1, 0)
    assert is_bit(queue["unique_tasks"]) and is_bit(queue["auto_change_status"])

    task = tenant.api.post(
        "/api/task/create", json={"Name": "Test Task", "QueueGuid": made.json()["guid"]}
    ).json()
    row = tenant.api.get(f"/api/task/read/{task['guid']}").json()
    assert set(row) >= TASK_KEYS and is_bit(row["is_deleted"])


def test_robot_read_shows_zero_for_never(tenant: Tenant) -> None:
    guid = make_robot(tenant.api)
    robot = tenant.api.get(f"/api/robot/read/{guid}").json()
    assert set(robot) >= ROBOT_KEYS
    assert robot["LicenseExpiration"] == 0 and robot["LastHeartbeatAt"] == 0
    assert type(robot["CreatedAt"]) is int and is_bit(robot["Active"])
    listed = tenant.api.get("/api/robot/read").json()
    assert all(type(r["LastHeartbeatAt"]) is int for r in listed)


def test_log_create_and_read_as_sherpa_shows_them(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    version = tenant.api.get(f"/api/process/read/{process}").json()["process_version_guid"]
    job = tenant.api.post("/api/job/create", json={"Process": process, "Robot": robot}).json()
    # The API page's example: JSON, PascalCase, Level as a number.
    created = tenant.api.post(
        "/api/log/create",
        json={
            "RobotGUID": robot,
            "ProcessVersionGUID": version,
            "JobGUID": job["guid"],
            "Level": 1,
            "Message": "no message",
        },
    )
    assert created.status_code == 200, created.text
    assert set(created.json()) == {"guid"}  # the framework reads `guid`
    row = tenant.api.get(f"/api/log/read/{created.json()['guid']}").json()
    assert set(row) >= LOG_KEYS
    assert (row["Level"], row["Message"], row["level_name"]) == (1, "no message", "Info")
    assert row["job_id"] == job["id"]

    # The framework's example: form body, snake_case, the level by name, the robot's auth.
    with tenant.client(**basic(robot)) as client:
        framework = client.post(
            "/api/log/create",
            data={
                "robot_guid": robot,
                "process_version_guid": version,
                "job_guid": job["guid"],
                "level": "Warning",
                "message": "New message",
            },
        )
    assert framework.status_code == 200, framework.text
    warning = tenant.api.get(f"/api/log/read/{framework.json()['guid']}").json()
    assert (warning["Level"], warning["level_name"]) == (4, "Warning")


def test_task_filter_list_with_sherpas_body(tenant: Tenant) -> None:
    queue = tenant.api.post("/api/queue/create", json={"Name": "Test Queue"}).json()["guid"]
    for name in ("a", "b"):
        tenant.api.post("/api/task/create", json={"Name": name, "QueueGuid": queue})
    other = tenant.api.post("/api/queue/create", json={"Name": "Other"}).json()["guid"]
    tenant.api.post("/api/task/create", json={"Name": "c", "QueueGuid": other})

    for path in ("/api/task/filter/list", f"/api/task/filter/list/{queue}"):
        for body in ({"Name": "Test Queue"}, {"Name": queue}):
            listed = tenant.api.post(path, json=body)
            assert listed.status_code == 200, (path, body, listed.text)
            assert sorted(t["name"] for t in listed.json()) == ["a", "b"], (path, body)
    # A Name that is not the queue still filters task names.
    assert [t["name"] for t in tenant.api.post(f"/api/task/filter/list/{queue}/name=a").json()] == [
        "a"
    ]
    missing = tenant.api.post("/api/task/filter/list", json={})
    assert missing.status_code == 422 and "Name" in missing.json()["message"]


def test_account_read_has_sherpas_keys(tenant: Tenant) -> None:
    login = f"acct-{tenant.guid[:8]}"
    with tenant.server.client() as admin:  # the first account may create accounts
        created = admin.post(
            "/api/account/create",
            json={
                "Login": login,
                "Password": "newPassword123",
                "FirstName": "Vasya",
                "LastName": "Ivanov",
            },
        )
        assert created.status_code == 200, created.text
        row = admin.get(f"/api/account/read/{created.json()['guid']}").json()
    assert {"id", "guid", "login", "first name", "last name"} <= set(row)
    assert (row["login"], row["first name"], row["last name"]) == (login, "Vasya", "Ivanov")
    assert "password" not in row
