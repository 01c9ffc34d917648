"""Scope resolution through a real server: a robot gets its own resource before its
group's before all robots'; anything outside its scope is 404, by name and by GUID; it
updates only resources in its scope and creates only for itself."""

from __future__ import annotations

import uuid

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_robot, robot_auth
from tests.support.resources import create_resource, make_group_with, ok


def test_robot_beats_group_beats_all(tenant: Tenant) -> None:
    api = tenant.api
    mine, grouped, loner = make_robot(api), make_robot(api), make_robot(api)
    group = make_group_with(api, mine, grouped)
    name = f"Shared-{uuid.uuid4().hex[:6]}"
    everyone = create_resource(api, name, Text="all robots")
    for_group = create_resource(api, name, Text="the group", RobotType=2, RobotGroupId=group)
    for_mine = create_resource(api, name, Text="one robot", RobotType=1, RobotId=mine)
    seen = {}
    for robot in (mine, grouped, loner):
        with tenant.client(**robot_auth(robot)) as as_robot:
            seen[robot] = ok(as_robot.get(f"/api/asset/read/{name}"))["guid"]
    assert seen == {mine: for_mine, grouped: for_group, loner: everyone}

    # Removing the most specific one falls back to the next.
    ok(api.delete(f"/api/asset/delete/{for_mine}"))
    with tenant.client(**robot_auth(mine)) as as_robot:
        assert ok(as_robot.get(f"/api/asset/read/{name}"))["guid"] == for_group


def test_out_of_scope_is_404_by_name_and_by_guid(tenant: Tenant) -> None:
    api = tenant.api
    owner, other = make_robot(api), make_robot(api)
    group = make_group_with(api, owner)
    name = f"Private-{uuid.uuid4().hex[:6]}"
    own = create_resource(api, name, Type=1, Password="Owner-Only-1", RobotId=owner)
    group_only = create_resource(api, f"{name}-g", RobotGroupId=group)
    with tenant.client(**robot_auth(other)) as as_other:
        for ref in (name, own, f"{name}-g", group_only):
            response = as_other.get(f"/api/asset/read/{ref}")
            assert response.status_code == 404, ref
            assert "Owner-Only-1" not in response.text
        listed = ok(as_other.get("/api/asset/list", params={"Count": 1000}))["items"]
        assert {own, group_only}.isdisjoint(row["guid"] for row in listed)
        form = {"guid": own, "name": name, "text": "x", "password": "stolen"}
        assert as_other.put("/api/asset/update", data=form).status_code == 404
        assert as_other.put("/api/asset/update", data={**form, "guid": name}).status_code == 404
    with tenant.client(**robot_auth(owner)) as as_owner:
        assert ok(as_owner.get(f"/api/asset/read/{own}"))["password"] == "Owner-Only-1"


def test_a_robot_creates_only_for_itself_and_cannot_move_scope(tenant: Tenant) -> None:
    api = tenant.api
    robot, other = make_robot(api), make_robot(api)
    name = f"Made-{uuid.uuid4().hex[:6]}"
    with tenant.client(**robot_auth(robot)) as as_robot:
        guid = ok(as_robot.post("/api/asset/create", data={"name": name, "text": "v"}))["guid"]
        row = ok(as_robot.get(f"/api/asset/read/{guid}"))
        assert (row["robot_type"], row["robot_guid"]) == (1, robot)
        refused = as_robot.post("/api/asset/create", json={"Name": f"{name}-x", "RobotType": 3})
        assert refused.status_code == 403
        # Another robot is not even visible to it.
        hidden = as_robot.post("/api/asset/create", json={"Name": f"{name}-x", "RobotId": other})
        assert hidden.status_code == 404
        moved = as_robot.put("/api/asset/update", json={"Guid": guid, "RobotType": 3})
        assert moved.status_code == 403
        assert as_robot.delete(f"/api/asset/delete/{guid}").status_code == 403
