"""Resource groups (Sherpa has them in its UI only; these calls follow its API's style)."""

from __future__ import annotations

from typing import Any

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.resources import (
    ResourceGroupCreate,
    ResourceGroupRead,
    ResourceGroupUpdate,
)
from robofleet.server.services.resources import groups

router = sherpa_router("Resource", prefix="/api/assetGroup")


@router.post("/create", summary="Create a resource group")
def create_group(body: ResourceGroupCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    return groups.create_group(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a resource group")
def read_group(guid: str, runtime: RuntimeDep, caller: CallerDep) -> ResourceGroupRead:
    return groups.read_group(runtime, caller, guid)


@router.get("/list", summary="Resource groups")
def list_groups(runtime: RuntimeDep, caller: CallerDep) -> list[ResourceGroupRead]:
    return groups.list_groups(runtime, caller)


@router.put("/update", summary="Update a resource group")
def update_group(body: ResourceGroupUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    groups.update_group(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete an empty resource group")
def delete_group(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    groups.delete_group(runtime, caller, guid)
    return []
