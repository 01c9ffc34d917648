"""Who may do what: rights per screen from a user's roles, robots limited to their own jobs,
and accounts that never see each other's objects."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from tests.service.conftest import Service, Tenant, make_tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import add, make_queue


def user_client(tenant: Tenant, permissions: dict[str, str]) -> TestClient:
    role = f"role-{uuid.uuid4().hex[:6]}"
    login = f"user-{uuid.uuid4().hex[:8]}"
    assert tenant.api.post(
        "/api/role/create", json={"Name": role, "Permissions": permissions}
    ).is_success
    assert tenant.api.post(
        "/api/user/create", json={"Login": login, "Password": "password-123", "Roles": role}
    ).is_success
    with tenant.client() as anonymous:
        token = anonymous.post(
            "/api/user/login", json={"Login": login, "Password": "password-123"}
        ).json()["access_token"]
    return tenant.client(Authorization=f"Bearer {token}")


def test_a_right_allows_exactly_its_operation(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    with user_client(tenant, {"queue": "r", "task": "cr"}) as clerk:
        assert clerk.get("/api/queue/list").status_code == 200
        assert clerk.post("/api/task/create", json={"Queue": queue, "Name": "a"}).is_success
        denied = clerk.post("/api/queue/create", json={"Name": "Mine"})
        assert denied.status_code == 403
        assert denied.json()["code"] == "missing_right"
        assert clerk.delete(f"/api/queue/delete/{queue}").status_code == 403
        assert clerk.get("/api/robot/read").status_code == 403
    assert [q["name"] for q in tenant.api.get("/api/queue/list").json()] == [queue]


def test_a_robot_updates_only_the_jobs_it_holds(tenant: Tenant) -> None:
    mine, theirs = make_robot(tenant.api), make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=theirs)["guid"]
    with tenant.client(**robot_auth(mine)) as robot:
        refused = robot.put("/api/job/update", json={"Guid": job, "Status": 8})
        assert refused.status_code == 404  # another robot's job does not exist for it
        assert robot.post("/api/robot/heartbeat", data={"RobotGUID": theirs}).status_code == 403
    assert tenant.api.get(f"/api/job/read/{job}").json()["status"] == 1


def test_accounts_are_isolated(tenant: Tenant, other_tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    task = add(tenant.api, queue, "private")["guid"]
    robot = make_robot(tenant.api)
    other = other_tenant.api
    for path in (f"/api/queue/read/{queue}", f"/api/task/read/{task}", f"/api/robot/read/{robot}"):
        assert other.get(path).status_code == 404, path
    assert other.post("/api/task/create", json={"Queue": queue, "Name": "x"}).status_code == 404
    assert other.post("/api/task/take", json={"Queue": queue}).status_code == 404
    assert other.get("/api/queue/list").json() == []
    # Names are per account: the other account's queue of the same name is its own.
    assert other.post("/api/queue/create", json={"Name": queue}).is_success
    assert other.post("/api/task/take", json={"Queue": queue}).json()["tasks"] == []
    assert tenant.api.get(f"/api/task/read/{task}").json()["status"] == 0


def test_only_account_managers_create_accounts(service: Service, tenant: Tenant) -> None:
    login = f"x-{uuid.uuid4().hex[:8]}"
    denied = tenant.api.post("/api/account/create", json={"Login": login, "Password": "password-1"})
    assert denied.status_code == 403 and denied.json()["code"] == "not_account_manager"
    manager = make_tenant(service, can_create_accounts=True)
    child = manager.api.post("/api/account/create", json={"Login": login, "Password": "password-1"})
    assert child.status_code == 200, child.text
    assert tenant.api.get(f"/api/account/read/{child.json()['guid']}").status_code == 404


def test_a_new_robot_keeps_cached_credentials_and_a_changed_one_ends_them(tenant: Tenant) -> None:
    """Creating robots (a fleet growing) leaves every cached credential in place; changing
    a robot empties the cache, so a deleted robot is refused on its very next call."""
    principals = tenant.service.runtime.principals
    robot = make_robot(tenant.api)
    with tenant.client(**robot_auth(robot)) as as_robot:
        assert as_robot.post("/api/robot/heartbeat", json={}).status_code == 200
        generation = principals.generation
        make_robot(tenant.api)
        assert principals.generation == generation
        renamed = {"GUID": robot, "Name": f"renamed-{uuid.uuid4().hex[:6]}"}
        assert tenant.api.put("/api/robot/update", json=renamed).is_success
        assert principals.generation == generation + 1
        assert as_robot.post("/api/robot/heartbeat", json={}).status_code == 200
        assert tenant.api.delete(f"/api/robot/delete/{robot}").is_success
        refused = as_robot.post("/api/robot/heartbeat", json={}).json()
        assert refused["HeartbeatErrorCode"] == 101, refused  # Sherpa's "robot not found"
