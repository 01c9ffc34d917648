"""Helpers for resource tests: robots in groups, resources at each scope."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.fleet import make_robot


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def make_group_with(api: Any, *robots: str) -> str:
    guid = str(
        ok(api.post("/api/robotGroup/create", json={"Name": f"g-{uuid.uuid4().hex[:6]}"}))["GUID"]
    )
    for robot in robots:
        ok(api.put("/api/robotGroup/addRobot", json={"RobotGroupGuid": guid, "RobotGuid": robot}))
    return guid


def create_resource(api: Any, name: str, **fields: object) -> str:
    return str(ok(api.post("/api/asset/create", json={"Name": name, **fields}))["guid"])


def robot_in_group(api: httpx.Client) -> tuple[str, str]:
    robot = make_robot(api)
    return robot, make_group_with(api, robot)
