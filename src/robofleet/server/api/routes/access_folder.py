"""Access folders ("object folders")."""

from __future__ import annotations

from typing import Any

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.identity import FolderCreate, FolderRead, FolderUpdate
from robofleet.server.services.access import folders

router = sherpa_router("Access Folder", prefix="/api/accessFolder")


@router.post("/create", summary="Create an access folder")
def create_folder(body: FolderCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    return folders.create_folder(runtime, caller, body)


@router.get("/read/{guid}", summary="Read an access folder")
def read_folder(guid: str, runtime: RuntimeDep, caller: CallerDep) -> FolderRead:
    return folders.read_folder(runtime, caller, guid)


@router.get("/read", summary="List access folders")
def list_folders(runtime: RuntimeDep, caller: CallerDep) -> list[FolderRead]:
    return folders.list_folders(runtime, caller)


@router.put("/update", summary="Update an access folder")
def update_folder(body: FolderUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    folders.update_folder(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete an empty access folder")
def delete_folder(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    folders.delete_folder(runtime, caller, guid)
    return []
