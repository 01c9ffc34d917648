"""Resource rules that need no second process: scope resolution, masking, validation,
ciphertexts bound to their rows, key rotation resumed after an interruption."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import select, update

from robofleet.server.db.audit import AuditActor
from robofleet.server.db.tables import DataKeyRow, ResourceRow
from robofleet.server.runtime.secret_box import SecretBox, SecretUnreadable
from robofleet.server.services.resources.rotation import rotate_keys
from tests.service.conftest import Service, Tenant, make_tenant
from tests.support.fleet import make_robot, robot_auth
from tests.support.resources import create_resource, make_group_with, ok


def _name() -> str:
    return f"res-{uuid.uuid4().hex[:8]}"


def test_robot_gets_the_most_specific_resource(tenant: Tenant) -> None:
    api = tenant.api
    robot, loner = make_robot(api), make_robot(api)
    group = make_group_with(api, robot)
    name = _name()
    everyone = create_resource(api, name, Text="all")
    create_resource(api, name, Text="group", RobotType=2, RobotGroupId=group)
    mine = create_resource(api, name, Text="robot", RobotType=1, RobotId=robot)
    with tenant.client(**robot_auth(robot)) as as_robot:
        assert ok(as_robot.get(f"/api/asset/read/{name}"))["text"] == "robot"
    with tenant.client(**robot_auth(loner)) as as_loner:
        assert ok(as_loner.get(f"/api/asset/read/{name}"))["guid"] == everyone
        assert as_loner.get(f"/api/asset/read/{mine}").status_code == 404
    ok(api.delete(f"/api/asset/delete/{mine}"))
    with tenant.client(**robot_auth(robot)) as as_robot:
        assert ok(as_robot.get(f"/api/asset/read/{name}"))["text"] == "group"
    # A user naming the shared name is told which GUIDs exist.
    ambiguous = api.get(f"/api/asset/read/{name}")
    assert ambiguous.status_code == 409 and everyone in ambiguous.json()["message"]


def test_same_name_twice_at_one_scope_is_a_conflict(tenant: Tenant) -> None:
    name = _name()
    create_resource(tenant.api, name)
    again = tenant.api.post("/api/asset/create", json={"Name": name})
    assert again.status_code == 409 and again.json()["code"] == "name_taken"


def test_password_shown_only_to_those_allowed(tenant: Tenant) -> None:
    api = tenant.api
    name = _name()
    guid = create_resource(api, name, Type=1, Text="login", Password="s3cret-pw")
    assert ok(api.get(f"/api/asset/read/{guid}"))["password"] == "s3cret-pw"
    listed = ok(api.get("/api/asset/list", params={"Name": name}))["items"]
    assert [row["password"] for row in listed] == ["********"]
    role = ok(
        api.post("/api/role/create", json={"Name": _name(), "Permissions": {"resource": "r"}})
    )
    login = f"u-{uuid.uuid4().hex[:8]}"
    ok(
        api.post(
            "/api/user/create",
            json={"Login": login, "Password": "reader-pass-1", "Roles": [role["guid"]]},
        )
    )
    token = ok(
        tenant.client().post("/api/user/login", json={"Login": login, "Password": "reader-pass-1"})
    )["access_token"]
    with tenant.client(Authorization=f"Bearer {token}") as reader:
        assert ok(reader.get(f"/api/asset/read/{guid}"))["password"] == "********"


def test_text_type_refuses_a_password_and_long_text(tenant: Tenant) -> None:
    refused = tenant.api.post(
        "/api/asset/create", json={"Name": _name(), "Type": 2, "Password": "x"}
    )
    assert refused.status_code == 422 and refused.json()["details"][0]["field"] == "Password"
    long = tenant.api.post("/api/asset/create", json={"Name": _name(), "Text": "x" * 10_001})
    assert long.status_code == 422 and long.json()["details"][0]["field"] == "Text"
    bad_calendar = tenant.api.post(
        "/api/asset/create", json={"Name": _name(), "Type": 3, "Text": '{"holidays": ["x"]}'}
    )
    assert bad_calendar.status_code == 422


def test_ciphertext_moved_to_another_row_does_not_open(tenant: Tenant) -> None:
    api = tenant.api
    first = create_resource(api, _name(), Type=1, Password="first-pw")
    second = create_resource(api, _name(), Type=1, Password="second-pw")
    runtime = tenant.service.runtime
    with runtime.db.write(actor=runtime_actor()) as session:
        token = session.scalar(
            select(ResourceRow.password_ciphertext).where(ResourceRow.guid == first)
        )
        session.execute(
            update(ResourceRow).where(ResourceRow.guid == second).values(password_ciphertext=token)
        )
    swapped = api.get(f"/api/asset/read/{second}")
    assert swapped.status_code == 409 and swapped.json()["code"] == "secret_unreadable"


def runtime_actor() -> AuditActor:
    return AuditActor(kind="system", guid=None, name="test", account_id=None)


def test_rotation_resumes_after_an_interruption(own_service: Service) -> None:
    tenant = make_tenant(own_service)
    guids = [create_resource(tenant.api, _name(), Type=1, Password=f"pw-{i}") for i in range(5)]
    runtime = own_service.runtime
    first = rotate_keys(runtime, batch_size=2, max_batches=1)
    assert not first.finished and first.reencrypted == 2
    for number, guid in enumerate(guids):  # readable mid-rotation
        assert ok(tenant.api.get(f"/api/asset/read/{guid}"))["password"] == f"pw-{number}"
    second = rotate_keys(runtime, batch_size=2)
    assert second.resumed and second.finished and second.key_id == first.key_id
    with runtime.db.read() as session:
        keys = session.scalars(select(DataKeyRow)).all()
        assert {k.state for k in keys} == {"active", "retired"}
        assert all(k.wrapped is None for k in keys if k.state == "retired")
        assert set(session.scalars(select(ResourceRow.password_key_id))) == {first.key_id}
    for number, guid in enumerate(guids):
        assert ok(tenant.api.get(f"/api/asset/read/{guid}"))["password"] == f"pw-{number}"


def test_rotation_with_another_secret_changes_nothing(own_service: Service) -> None:
    tenant = make_tenant(own_service)
    guid = create_resource(tenant.api, _name(), Type=1, Password="kept-pw")
    runtime = own_service.runtime
    wrong = dataclasses.replace(runtime, secret_box=SecretBox("another-secret-" + "x" * 64))
    with runtime.db.read() as session:
        before = [(k.key_id, k.state) for k in session.scalars(select(DataKeyRow))]
    with pytest.raises(SecretUnreadable):
        rotate_keys(wrong)
    with runtime.db.read() as session:
        assert [(k.key_id, k.state) for k in session.scalars(select(DataKeyRow))] == before
    assert ok(tenant.api.get(f"/api/asset/read/{guid}"))["password"] == "kept-pw"
