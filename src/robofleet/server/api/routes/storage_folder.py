"""Storage tab: folders (`/api/folders/*`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.storage import FolderCreate, FolderFilter, FolderRead, FolderUpdate
from robofleet.server.services.storage import folders

router = sherpa_router("Storage", prefix="/api/folders")


@router.post("/create", summary="Create a folder (inside another with ParentGuid)")
def create_folder(body: FolderCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    return folders.create_folder(runtime, caller, body)


@router.get("/read/{ref:path}", summary="Read a folder (by id, GUID or path `a/b`)")
def read_folder(ref: str, runtime: RuntimeDep, caller: CallerDep) -> FolderRead:
    return folders.read_folder(runtime, caller, ref)


@router.get("/list", summary="List folders (all, or the ones inside Parent)")
def list_folders(
    query: Annotated[FolderFilter, Query()], runtime: RuntimeDep, caller: CallerDep
) -> list[FolderRead]:
    return folders.list_folders(runtime, caller, query)


@router.put("/update", summary="Rename, describe or move (ParentGuid) a folder")
def update_folder(body: FolderUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    folders.update_folder(runtime, caller, body)
    return []


@router.delete("/delete/{ref:path}", summary="Delete an empty folder")
def delete_folder(ref: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    folders.delete_folder(runtime, caller, ref)
    return []
