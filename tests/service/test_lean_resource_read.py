"""A robot's resource read without the ORM (services.resources.lean_read) answers what the
session path (crud.session_read_resource) answers, on both stores: by id, GUID and name,
the most specific scope first, GUIDs of the robot, robot group and resource group, the
password in clear; whatever it does not find is left to the session path (404)."""

from __future__ import annotations

import base64
import threading
import uuid
from typing import Any

import pytest

from robofleet.server.domain.errors import NotFound
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.resources import crud
from robofleet.server.services.resources.lean_read import lean_read
from tests.service.conftest import Service, Tenant, make_tenant, robot_caller
from tests.support.fleet import make_robot
from tests.support.resources import create_resource, make_group_with, ok


def both(service: Service, caller: Caller, ref: int | str) -> dict[str, Any]:
    """The lean answer, checked against the session path's; the lean path must take it."""
    runtime = service.runtime
    assert lean_read(runtime, caller, ref) is not None, ref
    lean = crud.read_resource(runtime, caller, ref)
    assert lean == crud.session_read_resource(runtime, caller, ref)
    return lean.model_dump()


def test_by_id_guid_and_name_with_every_link(store_tenant: Tenant) -> None:
    service, api = store_tenant.service, store_tenant.api
    robot = make_robot(api)
    group = ok(api.post("/api/assetGroup/create", json={"Name": f"rg-{uuid.uuid4().hex[:6]}"}))
    name = f"Login-{uuid.uuid4().hex[:6]}"
    guid = create_resource(
        api,
        name,
        Type=1,
        Text="user",
        Password="S3cret!",
        PasswordExpiration="2031-02-03T04:05:06Z",
        RobotId=robot,
        ResourceGroup=group["guid"],
        Description="d",
    )
    caller = robot_caller(service, robot)
    row_id = ok(api.get(f"/api/asset/read/{guid}"))["id"]
    for ref in (guid, guid.upper(), row_id, str(row_id), name):
        read = both(service, caller, ref)
        assert (read["guid"], read["password"], read["text"]) == (guid, "S3cret!", "user")
        assert read["robot_guid"] == robot
        assert read["resource_group_guid"] == group["guid"]
        assert read["password_expiration"] is not None


def test_the_most_specific_scope_wins_and_others_are_not_found(store_tenant: Tenant) -> None:
    service, api = store_tenant.service, store_tenant.api
    mine, grouped, loner = make_robot(api), make_robot(api), make_robot(api)
    group = make_group_with(api, mine, grouped)
    name = f"Shared-{uuid.uuid4().hex[:6]}"
    everyone = create_resource(api, name, Text="all robots")
    for_group = create_resource(api, name, Text="the group", RobotType=2, RobotGroupId=group)
    for_mine = create_resource(api, name, Text="one robot", RobotType=1, RobotId=mine)
    expected = {mine: for_mine, grouped: for_group, loner: everyone}
    for robot, guid in expected.items():
        read = both(service, robot_caller(service, robot), name)
        assert read["guid"] == guid
    assert both(service, robot_caller(service, grouped), for_group)["robot_group_guid"] == group
    # Out of scope: the lean path finds nothing and the session path says 404.
    runtime, outsider = service.runtime, robot_caller(service, loner)
    for ref in (for_mine, for_group):
        assert lean_read(runtime, outsider, ref) is None
        with pytest.raises(NotFound):
            crud.read_resource(runtime, outsider, ref)
    ok(api.delete(f"/api/asset/delete/{for_mine}"))
    assert lean_read(runtime, robot_caller(service, mine), for_mine) is None
    assert both(service, robot_caller(service, mine), name)["guid"] == for_group


def test_another_accounts_resource_is_not_found(store_tenant: Tenant) -> None:
    service = store_tenant.service
    other = make_tenant(service)
    guid = create_resource(other.api, f"Theirs-{uuid.uuid4().hex[:6]}", Text="x")
    caller = robot_caller(service, make_robot(store_tenant.api))
    assert lean_read(service.runtime, caller, guid) is None
    with pytest.raises(NotFound):
        crud.read_resource(service.runtime, caller, guid)


def test_users_and_keys_take_the_session_path(store_tenant: Tenant) -> None:
    service, api = store_tenant.service, store_tenant.api
    name = f"Keyed-{uuid.uuid4().hex[:6]}"
    guid = create_resource(api, name, Type=1, Password="Pw-1")
    read = ok(api.get(f"/api/asset/read/{name}"))
    assert (read["guid"], read["password"]) == (guid, "Pw-1")
    robot = make_robot(api)
    with store_tenant.client(Key=store_tenant.key) as key_client:
        assert ok(key_client.get(f"/api/asset/read/{guid}"))["guid"] == guid
    assert lean_read(service.runtime, robot_caller(service, robot), guid) is not None


def test_a_password_whose_key_is_not_in_memory_is_left_to_the_session(
    store_service: Service,
) -> None:
    box = store_service.runtime.secret_box
    token = "no-such-key:" + base64.b64encode(b"\0" * 40).decode()
    assert box.open_with_known_key(token, "resource:1:x") is None


def test_sqlite_reads_on_the_loop_keep_one_connection_and_see_each_change(
    tenant: Tenant,
) -> None:
    service, api = tenant.service, tenant.api
    runtime = service.runtime
    assert runtime.db.raw_writes  # the session's own service runs on SQLite
    robot = make_robot(api)
    guid = create_resource(api, f"Box-{uuid.uuid4().hex[:6]}", Type=2, Text="one", RobotId=robot)
    caller = robot_caller(service, robot)

    first = crud.read_resource_on_loop(runtime, caller, guid)
    assert first is not None
    assert first == crud.session_read_resource(runtime, caller, guid)
    kept = runtime.db.kept_reader()
    ok(api.put("/api/asset/update", json={"Guid": guid, "Text": "two"}))
    second = crud.read_resource_on_loop(runtime, caller, guid)

    # No snapshot outlives its statement: the change made in between is seen.
    assert second is not None and second.text == "two"
    assert runtime.db.kept_reader() is kept
    others: list[object] = []
    thread = threading.Thread(target=lambda: others.append(runtime.db.kept_reader()))
    thread.start()
    thread.join()
    assert others[0] is not kept  # each thread keeps its own


def test_reads_on_the_loop_are_for_sqlite_alone(store_tenant: Tenant) -> None:
    service, api = store_tenant.service, store_tenant.api
    robot = make_robot(api)
    guid = create_resource(api, f"Box-{uuid.uuid4().hex[:6]}", Type=2, Text="t", RobotId=robot)
    read = crud.read_resource_on_loop(service.runtime, robot_caller(service, robot), guid)
    # PostgreSQL reads on its async driver pool instead (read_resource_on_driver).
    assert (read is not None) == service.runtime.db.raw_writes
