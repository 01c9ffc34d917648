"""Robot Groups tab."""

from __future__ import annotations

from typing import Any

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.robots import (
    RobotGroupCreate,
    RobotGroupCreated,
    RobotGroupMembership,
    RobotGroupRead,
    RobotGroupUpdate,
)
from robofleet.server.services.fleet import groups as robot_groups

router = sherpa_router("Robot Groups", prefix="/api/robotGroup")


@router.post("/create", summary="Create a robot group")
def create_group(
    body: RobotGroupCreate, runtime: RuntimeDep, caller: CallerDep
) -> RobotGroupCreated:
    return robot_groups.create_group(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a robot group")
def read_group(guid: str, runtime: RuntimeDep, caller: CallerDep) -> RobotGroupRead:
    return robot_groups.read_group(runtime, caller, guid)


@router.get("/read", summary="Read all robot groups")
def list_groups(runtime: RuntimeDep, caller: CallerDep) -> list[RobotGroupRead]:
    return robot_groups.list_groups(runtime, caller)


@router.put("/update", summary="Update a robot group")
def update_group(body: RobotGroupUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    robot_groups.update_group(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete a group, or remove a robot from it")
def delete_group(
    guid: str, runtime: RuntimeDep, caller: CallerDep, body: RobotGroupMembership | None = None
) -> list[Any]:
    """Without a body, deletes the group. With `RobotGroupGuid` and `RobotGuid` in the body
    (Sherpa's documented overload), removes that robot from the group instead."""
    if body is not None:
        robot_groups.remove_robot(runtime, caller, body)
    else:
        robot_groups.delete_group(runtime, caller, guid)
    return []


@router.put("/addRobot", summary="Add a robot to a group")
def add_robot(body: RobotGroupMembership, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    robot_groups.add_robot(runtime, caller, body)
    return []


@router.api_route("/removeRobot", methods=["PUT", "DELETE"], summary="Remove a robot from a group")
def remove_robot(body: RobotGroupMembership, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    robot_groups.remove_robot(runtime, caller, body)
    return []
