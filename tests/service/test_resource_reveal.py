"""Showing a credential's password on purpose (the web's "Show password"): the same right as
the API's read, and every reveal recorded in the audit trail."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from robofleet.server.db.tables import UserRow
from robofleet.server.domain.errors import Forbidden
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.principals import user_principal
from robofleet.server.services.resources.crud import reveal_password
from tests.service.conftest import Tenant
from tests.support.resources import create_resource, ok


def _user_caller(tenant: Tenant, permissions: dict[str, str]) -> Caller:
    role = ok(
        tenant.api.post(
            "/api/role/create",
            json={"Name": f"r-{uuid.uuid4().hex[:6]}", "Permissions": permissions},
        )
    )
    login = f"u-{uuid.uuid4().hex[:8]}"
    ok(
        tenant.api.post(
            "/api/user/create",
            json={"Login": login, "Password": "reveal-pass-1", "Roles": [role["guid"]]},
        )
    )
    with tenant.service.runtime.db.read() as session:
        user = session.scalar(select(UserRow).where(UserRow.login == login))
        assert user is not None
        return Caller(user_principal(session, user), address="198.51.100.7")


def test_a_reveal_shows_the_password_and_is_audited(tenant: Tenant) -> None:
    guid = create_resource(tenant.api, "erp-login", Type=1, Text="clerk", Password="pw-42!")
    editor = _user_caller(tenant, {"resource": "ru"})
    assert reveal_password(tenant.service.runtime, editor, guid) == "pw-42!"
    entries = ok(
        tenant.api.get("/api/audit/list", params={"ObjectGuid": guid, "Action": "reveal"})
    )["items"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["object_type"] == "resource"
    assert entry["actor_name"] == editor.principal.name
    assert entry["address"] == "198.51.100.7"
    assert "erp-login" in entry["message"] and "pw-42!" not in str(entry)


def test_a_reader_without_the_update_right_cannot_reveal(tenant: Tenant) -> None:
    guid = create_resource(tenant.api, "erp-login", Type=1, Text="clerk", Password="pw-42!")
    reader = _user_caller(tenant, {"resource": "r"})
    with pytest.raises(Forbidden):
        reveal_password(tenant.service.runtime, reader, guid)
    entries = ok(
        tenant.api.get("/api/audit/list", params={"ObjectGuid": guid, "Action": "reveal"})
    )["items"]
    assert entries == []


def test_a_resource_without_password_reveals_nothing(tenant: Tenant) -> None:
    guid = create_resource(tenant.api, "plain", Type=2, Text="value")
    editor = _user_caller(tenant, {"resource": "ru"})
    assert reveal_password(tenant.service.runtime, editor, guid) is None
