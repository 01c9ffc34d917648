"""Sherpa's request forms: JSON or form bodies, PascalCase or snake_case, refs by id/GUID/name."""

from __future__ import annotations

import uuid

from tests.acceptance.conftest import Tenant


def test_json_pascal_and_form_snake_are_the_same_operation(tenant: Tenant) -> None:
    a = tenant.api.post("/api/accessFolder/create", json={"Name": "Json", "Description": "J"})
    b = tenant.api.post("/api/accessFolder/create", data={"name": "Form", "description": "F"})
    c = tenant.api.post("/api/accessFolder/create", json={"name": "Snake"})
    assert {a.status_code, b.status_code, c.status_code} == {200}
    names = {f["name"]: f["description"] for f in tenant.api.get("/api/accessFolder/read").json()}
    assert names == {"Json": "J", "Form": "F", "Snake": ""}


def test_related_objects_by_id_guid_or_name(tenant: Tenant) -> None:
    for name in ("ById", "ByGuid", "ByName"):
        tenant.api.post("/api/role/create", json={"Name": name})
    roles = {r["name"]: r for r in tenant.api.get("/api/role/read").json()}
    login = f"refs-{uuid.uuid4().hex[:6]}"
    made = tenant.api.post(
        "/api/user/create",
        json={
            "Login": login,
            "Password": "password-123",
            "Roles": [roles["ById"]["id"], roles["ByGuid"]["guid"], "ByName"],
        },
    )
    assert made.status_code == 200, made.text
    user = tenant.api.get(f"/api/user/read/{login}").json()
    assert user["roles"] == ["ByGuid", "ById", "ByName"]
    assert tenant.api.get(f"/api/user/read/{user['id']}").json()["login"] == login
    assert tenant.api.get(f"/api/user/read/{user['guid'].upper()}").json()["login"] == login


def test_form_lists_and_flags(tenant: Tenant) -> None:
    tenant.api.post("/api/role/create", json={"Name": "F1"})
    tenant.api.post("/api/role/create", json={"Name": "F2"})
    login = f"form-{uuid.uuid4().hex[:6]}"
    made = tenant.api.post(
        "/api/user/create",
        data={
            "login": login,
            "password": "password-123",
            "roles[]": ["F1", "F2"],
            "is_blocked": "1",
        },
    )
    assert made.status_code == 200, made.text
    user = tenant.api.get(f"/api/user/read/{login}").json()
    assert user["roles"] == ["F1", "F2"] and user["is_blocked"] is True


def test_permissions_as_a_json_string(tenant: Tenant) -> None:
    made = tenant.api.post("/api/role/create", data={"Name": "Str", "Permissions": '{"job": "cr"}'})
    assert made.status_code == 200, made.text
    assert tenant.api.get("/api/role/read/Str").json()["permissions"] == {"job": "cr"}
