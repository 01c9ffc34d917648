"""Process tab."""

from __future__ import annotations

from typing import Any

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.processes import ProcessCreate, ProcessRead, ProcessUpdate
from robofleet.server.services.processes import crud as processes

router = sherpa_router("Process", prefix="/api/process")


@router.post("/create", summary="Create a process")
def create_process(body: ProcessCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    return processes.create_process(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a process (with its current version)")
def read_process(guid: str, runtime: RuntimeDep, caller: CallerDep) -> ProcessRead:
    return processes.read_process(runtime, caller, guid)


@router.get("/read", summary="Read all processes")
def list_processes(runtime: RuntimeDep, caller: CallerDep) -> list[ProcessRead]:
    return processes.list_processes(runtime, caller)


@router.put("/update", summary="Update a process (CurrentVersion makes a version current)")
def update_process(body: ProcessUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    processes.update_process(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete a process")
def delete_process(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    processes.delete_process(runtime, caller, guid)
    return []
