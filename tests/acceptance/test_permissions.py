"""Roles grant create/read/update/delete per screen; without the right the answer is 403."""

from __future__ import annotations

import uuid

import httpx

from tests.acceptance.conftest import Tenant


def user_with_role(tenant: Tenant, permissions: dict[str, str], **role: object) -> httpx.Client:
    name = f"role-{uuid.uuid4().hex[:6]}"
    made = tenant.api.post(
        "/api/role/create", json={"Name": name, "Permissions": permissions, **role}
    )
    assert made.status_code == 200, made.text
    login = f"user-{uuid.uuid4().hex[:8]}"
    created = tenant.api.post(
        "/api/user/create", json={"Login": login, "Password": "password-123", "Roles": [name]}
    )
    assert created.status_code == 200, created.text
    with tenant.client() as anonymous:
        token = anonymous.post(
            "/api/user/login", json={"Login": login, "Password": "password-123"}
        ).json()
    return tenant.client(Authorization=f"Bearer {token['access_token']}")


def test_read_right_allows_reading_only(tenant: Tenant) -> None:
    with user_with_role(tenant, {"role": "r"}) as reader:
        assert reader.get("/api/role/read").status_code == 200
        denied = reader.post("/api/role/create", json={"Name": "Nope"})
        assert denied.status_code == 403
        assert denied.json()["code"] == "missing_right"
        assert "create" in denied.json()["message"] and "role" in denied.json()["message"]
        assert reader.get("/api/user/read").status_code == 403
    assert "Nope" not in str(tenant.api.get("/api/role/read").json())


def test_each_right_is_separate(tenant: Tenant) -> None:
    folder = tenant.api.post("/api/accessFolder/create", json={"Name": "F1"}).json()["guid"]
    with user_with_role(tenant, {"access_folder": "cu"}) as editor:
        assert editor.post("/api/accessFolder/create", json={"Name": "F2"}).status_code == 200
        assert (
            editor.put(
                "/api/accessFolder/update", json={"Guid": folder, "Description": "x"}
            ).status_code
            == 200
        )
        assert editor.get(f"/api/accessFolder/read/{folder}").status_code == 403
        assert editor.delete(f"/api/accessFolder/delete/{folder}").status_code == 403


def test_rights_come_from_every_role_of_the_user(tenant: Tenant) -> None:
    tenant.api.post("/api/role/create", json={"Name": "A", "Permissions": {"role": "r"}})
    tenant.api.post("/api/role/create", json={"Name": "B", "Permissions": {"user": "r"}})
    login = f"user-{uuid.uuid4().hex[:8]}"
    tenant.api.post(
        "/api/user/create", json={"Login": login, "Password": "password-123", "Roles": "A;B"}
    )
    with tenant.client() as anonymous:
        token = anonymous.post(
            "/api/user/login", json={"Login": login, "Password": "password-123"}
        ).json()
    with tenant.client(Authorization=f"Bearer {token['access_token']}") as user:
        assert user.get("/api/role/read").status_code == 200
        assert user.get("/api/user/read").status_code == 200
        assert user.get("/api/audit/list").status_code == 403


def test_unknown_screen_in_a_role_is_refused(tenant: Tenant) -> None:
    response = tenant.api.post(
        "/api/role/create", json={"Name": "Bad", "Permissions": {"robots_and_more": "r"}}
    )
    assert response.status_code == 422
    assert "unknown screen" in response.json()["message"]
    response = tenant.api.post(
        "/api/role/create", json={"Name": "Bad", "Permissions": {"robot": "rwx"}}
    )
    assert response.status_code == 422
    assert "crud" in response.json()["message"]


def test_administrator_role_cannot_be_weakened(tenant: Tenant) -> None:
    admin = tenant.api.get("/api/role/read/Administrator").json()
    response = tenant.api.put(
        "/api/role/update", json={"Guid": admin["guid"], "Permissions": {"role": "r"}}
    )
    assert response.status_code == 409
    assert tenant.api.delete(f"/api/role/delete/{admin['guid']}").status_code == 409


def test_role_folders_are_listed(tenant: Tenant) -> None:
    tenant.api.post("/api/accessFolder/create", json={"Name": "Finance"})
    made = tenant.api.post(
        "/api/role/create",
        json={"Name": "FinanceOps", "Folders": "Finance", "Permissions": {"robot": "crud"}},
    )
    role = tenant.api.get(f"/api/role/read/{made.json()['guid']}").json()
    assert role["folders"] == ["Finance"]
    assert role["permissions"] == {"robot": "crud"}
