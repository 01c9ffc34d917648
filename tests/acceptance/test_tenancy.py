"""Accounts are isolated: one account's credentials never reach another's objects."""

from __future__ import annotations

import uuid

from tests.acceptance.conftest import Tenant, make_tenant
from tests.support.server import ServerProcess


def test_objects_of_another_account_are_invisible(tenant: Tenant, other_tenant: Tenant) -> None:
    role = tenant.api.post("/api/role/create", json={"Name": "Mine"}).json()["guid"]
    folder = tenant.api.post("/api/accessFolder/create", json={"Name": "Mine"}).json()["guid"]
    user = tenant.api.post(
        "/api/user/create", json={"Login": f"u-{uuid.uuid4().hex[:8]}", "Password": "password-123"}
    ).json()["guid"]

    other = other_tenant.api
    for path in (
        f"/api/role/read/{role}",
        f"/api/accessFolder/read/{folder}",
        f"/api/user/read/{user}",
        f"/api/account/read/{tenant.guid}",
    ):
        response = other.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert "Mine" not in str(other.get("/api/role/read").json())
    assert user not in str(other.get("/api/user/read").json())

    # Names are per account: the other account may use the same ones.
    assert other.post("/api/role/create", json={"Name": "Mine"}).status_code == 200

    assert other.put("/api/role/update", json={"Guid": role, "Name": "Stolen"}).status_code == 404
    assert other.delete(f"/api/user/delete/{user}").status_code == 404
    assert other.delete(f"/api/accessFolder/delete/{folder}").status_code == 404
    assert tenant.api.get(f"/api/role/read/{role}").json()["name"] == "Mine"
    assert tenant.api.get(f"/api/user/read/{user}").status_code == 200


def test_references_by_name_stay_inside_the_account(tenant: Tenant, other_tenant: Tenant) -> None:
    other_tenant.api.post("/api/role/create", json={"Name": "Auditors"})
    response = tenant.api.post(
        "/api/user/create",
        json={
            "Login": f"u-{uuid.uuid4().hex[:8]}",
            "Password": "password-123",
            "Roles": "Auditors",
        },
    )
    assert response.status_code == 404
    assert "Auditors" in response.json()["message"]


def test_audit_of_one_account_is_not_shown_to_another(tenant: Tenant, other_tenant: Tenant) -> None:
    role = tenant.api.post("/api/role/create", json={"Name": "Audited"}).json()["guid"]
    entries = other_tenant.api.get("/api/audit/list", params={"ObjectGuid": role}).json()
    assert entries["total"] == 0


def test_only_accounts_allowed_to_create_accounts_manage_them(
    server: ServerProcess, tenant: Tenant
) -> None:
    denied = tenant.api.post(
        "/api/account/create", json={"Login": f"x-{uuid.uuid4().hex[:8]}", "Password": "password-1"}
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "not_account_manager"

    parent = make_tenant(server, can_create_accounts=True)
    child = parent.api.post(
        "/api/account/create",
        json={"Login": f"c-{uuid.uuid4().hex[:8]}", "Password": "password-1", "Company": "ACME"},
    )
    assert child.status_code == 200, child.text
    child_guid = child.json()["guid"]
    assert parent.api.get(f"/api/account/read/{child_guid}").json()["company"] == "ACME"
    # A sibling account sees neither the parent's child nor can it delete it.
    assert tenant.api.get(f"/api/account/read/{child_guid}").status_code == 404
    assert (
        parent.api.put(
            "/api/account/update", json={"Guid": child_guid, "Department": "Ops"}
        ).status_code
        == 200
    )
    assert parent.api.get(f"/api/account/read/{child_guid}").json()["department"] == "Ops"
    assert parent.api.delete(f"/api/account/delete/{tenant.guid}").status_code == 404

    child_key = child.json()["api_key"]
    with server.client(child_key) as child_api:
        assert child_api.get("/api/user/read").status_code == 200
        assert parent.api.delete(f"/api/account/delete/{child_guid}").status_code == 200
        gone = child_api.get("/api/user/read")
    assert gone.status_code == 401
    assert gone.json()["code"] == "account_deleted"


def test_account_read_never_shows_a_password(tenant: Tenant) -> None:
    row = tenant.api.get(f"/api/account/read/{tenant.guid}").json()
    assert row["login"] == tenant.login
    assert "password" not in str(row).lower()
