"""Roles: rights per screen and the access folders they reach."""

from __future__ import annotations

from typing import Any

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.identity import RoleCreate, RoleRead, RoleUpdate
from robofleet.server.services.access import roles

router = sherpa_router("Role", prefix="/api/role")


@router.post("/create", summary="Create a role")
def create_role(body: RoleCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    return roles.create_role(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a role")
def read_role(guid: str, runtime: RuntimeDep, caller: CallerDep) -> RoleRead:
    return roles.read_role(runtime, caller, guid)


@router.get("/read", summary="List roles")
def list_roles(runtime: RuntimeDep, caller: CallerDep) -> list[RoleRead]:
    return roles.list_roles(runtime, caller)


@router.put("/update", summary="Update a role")
def update_role(body: RoleUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    roles.update_role(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete a role")
def delete_role(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    roles.delete_role(runtime, caller, guid)
    return []
