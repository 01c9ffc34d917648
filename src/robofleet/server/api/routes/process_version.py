"""Process Version tab: packages, uploaded as files."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import StreamingResponse

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.downloads import DOWNLOAD_RESPONSES, RANGE_DOC, streamed
from robofleet.server.api.routing import sherpa_router
from robofleet.server.api.uploads import multipart_doc, read_upload
from robofleet.server.schemas.processes import (
    MakeCurrent,
    ProcessVersionCreate,
    ProcessVersionRead,
    ProcessVersionUpdate,
)
from robofleet.server.services.processes import versions as process_versions

router = sherpa_router("Process Version", prefix="/api/processVersion")


@router.post(
    "/create",
    summary="Upload a new version of a process",
    openapi_extra=multipart_doc(ProcessVersionCreate, "ProcessFile"),
)
async def create_version(
    request: Request, runtime: RuntimeDep, caller: CallerDep
) -> ProcessVersionRead:
    """Multipart fields `ProcessGuid` (or `Process`), `Name`, `Description`, `MakeCurrent` and
    the file `ProcessFile`: a .zip with robofleet.json, a .py script or a .robot suite (see
    docs/robot-protocol.md). The first version of a process becomes current; a later one too
    unless the process pins its version; `MakeCurrent` 1 or 0 decides explicitly."""
    data, upload, name = await read_upload(request, ProcessVersionCreate, "ProcessFile")
    return await asyncio.to_thread(
        process_versions.create_version, runtime, caller, data, upload, name
    )


@router.get("/read/{guid}", summary="Read a process version")
def read_version(guid: str, runtime: RuntimeDep, caller: CallerDep) -> ProcessVersionRead:
    return process_versions.read_version(runtime, caller, guid)


@router.get("/list/{process}", summary="The versions of a process")
def list_versions(process: str, runtime: RuntimeDep, caller: CallerDep) -> list[ProcessVersionRead]:
    return process_versions.list_versions(runtime, caller, process)


@router.api_route(
    "/update",
    methods=["POST", "PUT"],
    summary="Rename or describe a version, or replace its package",
    openapi_extra=multipart_doc(ProcessVersionUpdate, "ProcessFile", file_required=False),
)
async def update_version(request: Request, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    """JSON, form or multipart fields `Guid`, `Name`, `Description`, `ProcessGuid` (the
    version's own process) and the file `ProcessFile`, which replaces the version's package;
    a job that already took the version keeps the package it was given."""
    data, upload, name = await read_upload(request, ProcessVersionUpdate, "ProcessFile")
    await asyncio.to_thread(process_versions.update_version, runtime, caller, data, upload, name)
    return []


@router.api_route(
    "/makeCurrent", methods=["POST", "PUT"], summary="Make a version its process's current one"
)
def make_current(body: MakeCurrent, runtime: RuntimeDep, caller: CallerDep) -> ProcessVersionRead:
    return process_versions.set_current(runtime, caller, body)


@router.delete("/delete/{guid}", summary="Delete a version that is not current")
def delete_version(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    process_versions.delete_version(runtime, caller, guid)
    return []


@router.get(
    "/download/{guid}",
    summary="Download a version's package (Range supported)",
    response_class=StreamingResponse,
    responses=DOWNLOAD_RESPONSES,
)
def download(
    guid: str,
    runtime: RuntimeDep,
    caller: CallerDep,
    sha256: str | None = None,
    range_header: Annotated[str | None, Header(alias="Range", description=RANGE_DOC)] = None,
) -> StreamingResponse:
    """`sha256` asks for the package a job of this version was given (consumeNextJob's
    `Sha256`), which a later update of the version may have replaced."""
    sent = process_versions.package_download(runtime, caller, guid, sha256, range_header)
    return streamed(sent)
