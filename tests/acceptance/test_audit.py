"""Every change made through the API is recorded: who, when, what changed, from where."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.acceptance.conftest import Tenant


def test_a_change_is_recorded_with_who_what_and_where(tenant: Tenant) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    made = tenant.api.post(
        "/api/role/create", json={"Name": "Clerks"}, headers={"User-Agent": "audit-test/1.0"}
    )
    role = made.json()["guid"]
    tenant.api.put("/api/role/update", json={"Guid": role, "Description": "front office"})

    page = tenant.api.get("/api/audit/list", params={"ObjectGuid": role}).json()
    assert page["total"] == 2
    update, create = page["items"]
    assert create["action"] == "create"
    assert create["changes"]["name"] == "Clerks"
    assert create["user_agent"] == "audit-test/1.0"
    assert update["action"] == "update"
    assert update["changes"]["description"] == {"from": "", "to": "front office"}
    assert update["actor_kind"] == "account_key"
    assert update["address"] == "127.0.0.1"
    at = datetime.strptime(update["at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= at <= datetime.now(UTC) + timedelta(seconds=5)


def test_deletes_and_logins_are_recorded_and_secrets_masked(tenant: Tenant) -> None:
    login = f"temp-{uuid.uuid4().hex[:6]}"
    user = tenant.api.post(
        "/api/user/create", json={"Login": login, "Password": "secret-password"}
    ).json()["guid"]
    with tenant.client() as anonymous:
        anonymous.post("/api/user/login", json={"Login": login, "Password": "wrong-password"})
        anonymous.post("/api/user/login", json={"Login": login, "Password": "secret-password"})
    tenant.api.delete(f"/api/user/delete/{user}")

    entries = tenant.api.get("/api/audit/list", params={"ObjectGuid": user}).json()["items"]
    actions = [entry["action"] for entry in entries]
    assert actions == ["delete", "login", "login_failed", "create"]
    assert "secret-password" not in str(entries)
    assert entries[-1]["changes"]["password_hash"] == "***"


def test_audit_filters(tenant: Tenant) -> None:
    tenant.api.post("/api/accessFolder/create", json={"Name": "A1"})
    tenant.api.post("/api/role/create", json={"Name": "R1"})
    folders = tenant.api.get("/api/audit/list", params={"object_type": "access_folder"}).json()
    assert {e["object_type"] for e in folders["items"]} == {"access_folder"}
    one = tenant.api.get("/api/audit/list", params={"Count": 1}).json()
    assert one["count"] == 1 and one["total"] >= 2
    future = tenant.api.get("/api/audit/list", params={"Since": "2999-01-01 00:00:00"}).json()
    assert future["total"] == 0


def test_bad_requests_leave_no_audit_entry(tenant: Tenant) -> None:
    before = tenant.api.get("/api/audit/list").json()["total"]
    tenant.api.post("/api/role/create", json={"Name": ""})
    tenant.api.post("/api/role/create", json={"Name": "X", "Unknown": 1})
    assert tenant.api.get("/api/audit/list").json()["total"] == before
