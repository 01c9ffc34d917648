"""An account always keeps an administrator: the last active (not deleted, not blocked) user
holding the Administrator role cannot be deleted, blocked or lose that role (409, nothing
changes); with a second administrator each of those works."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.acceptance.conftest import Tenant

ADMIN_ROLE = "Administrator"


def make_user(tenant: Tenant, *roles: str) -> str:
    login = f"user-{uuid.uuid4().hex[:8]}"
    made = tenant.api.post(
        "/api/user/create", json={"Login": login, "Password": "password-123", "Roles": list(roles)}
    )
    assert made.status_code == 200, made.text
    return login


def user(tenant: Tenant, login: str) -> dict[str, Any]:
    found = tenant.api.get(f"/api/user/read/{login}")
    assert found.status_code == 200, found.text
    return dict(found.json())


def can_log_in(tenant: Tenant, login: str, password: str) -> bool:
    with tenant.client() as anonymous:
        answer = anonymous.post("/api/user/login", json={"Login": login, "Password": password})
    return answer.status_code == 200


def assert_last_admin_refused(answer: httpx.Response, login: str) -> None:
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["code"] == "last_admin"
    assert login in body["message"] and "last active administrator" in body["message"]


def test_the_last_admin_cannot_be_deleted_blocked_or_demoted(tenant: Tenant) -> None:
    admin = tenant.login  # the user created with the account
    clerks = tenant.api.post("/api/role/create", json={"Name": "Clerks"})
    assert clerks.status_code == 200
    assert_last_admin_refused(tenant.api.delete(f"/api/user/delete/{admin}"), admin)
    assert_last_admin_refused(
        tenant.api.put("/api/user/update", json={"Guid": admin, "IsBlocked": True}), admin
    )
    for roles in ([], ["Clerks"]):
        assert_last_admin_refused(
            tenant.api.put("/api/user/update", json={"Guid": admin, "Roles": roles}), admin
        )
    # Nothing changed, not even the fields sent with the refused change.
    refused = tenant.api.put(
        "/api/user/update", json={"Guid": admin, "IsBlocked": True, "FirstName": "Changed"}
    )
    assert refused.status_code == 409
    row = user(tenant, admin)
    assert (row["is_blocked"], row["roles"], row["first_name"]) == (False, [ADMIN_ROLE], "")
    assert can_log_in(tenant, admin, tenant.password)
    # Keeping the role, or adding one beside it, is no problem.
    kept = tenant.api.put("/api/user/update", json={"Guid": admin, "Roles": [ADMIN_ROLE, "Clerks"]})
    assert kept.status_code == 200, kept.text


def test_a_second_admin_makes_each_change_possible(tenant: Tenant) -> None:
    first = tenant.login
    second = make_user(tenant, ADMIN_ROLE)
    demoted = tenant.api.put("/api/user/update", json={"Guid": first, "Roles": []})
    assert demoted.status_code == 200, demoted.text
    assert user(tenant, first)["roles"] == []
    # Now the second is the last one.
    assert_last_admin_refused(tenant.api.delete(f"/api/user/delete/{second}"), second)
    tenant.api.put("/api/user/update", json={"Guid": first, "Roles": [ADMIN_ROLE]})
    blocked = tenant.api.put("/api/user/update", json={"Guid": first, "IsBlocked": True})
    assert blocked.status_code == 200 and user(tenant, first)["is_blocked"] is True
    # A blocked administrator manages nothing: the second is the last active one.
    assert_last_admin_refused(
        tenant.api.put("/api/user/update", json={"Guid": second, "IsBlocked": True}), second
    )
    tenant.api.put("/api/user/update", json={"Guid": first, "IsBlocked": False})
    assert tenant.api.delete(f"/api/user/delete/{first}").status_code == 200
    assert tenant.api.get(f"/api/user/read/{first}").status_code == 404
    assert_last_admin_refused(tenant.api.delete(f"/api/user/delete/{second}"), second)


def test_other_users_come_and_go_as_before(tenant: Tenant) -> None:
    clerk = make_user(tenant)
    blocked = tenant.api.put("/api/user/update", json={"Guid": clerk, "IsBlocked": True})
    assert blocked.status_code == 200, blocked.text
    assert user(tenant, clerk)["is_blocked"] is True
    assert tenant.api.delete(f"/api/user/delete/{clerk}").status_code == 200


def test_two_admins_removing_each_other_at_once_leave_one(tenant: Tenant) -> None:
    first, second = tenant.login, make_user(tenant, ADMIN_ROLE)

    def block(login: str) -> int:
        with tenant.client(Key=tenant.key) as api:
            return api.put("/api/user/update", json={"Guid": login, "IsBlocked": True}).status_code

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(block, [first, second]))
    assert answers == [200, 409]
    active = [u for u in (user(tenant, first), user(tenant, second)) if not u["is_blocked"]]
    assert len(active) == 1
