"""Job tab."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import ModelResponse, sherpa_router
from robofleet.server.schemas.base import Page
from robofleet.server.schemas.jobs import JobCreate, JobFilter, JobRead, JobRef, JobUpdate
from robofleet.server.services.jobs import crud as jobs

router = sherpa_router("Job", prefix="/api/job")


@router.post("/create", summary="Create a job", response_model=JobRead)
def create_job(body: JobCreate, runtime: RuntimeDep, caller: CallerDep) -> ModelResponse:
    """Runs the process's current version on `Robot`, on the first free robot of
    `RobotGroup`, or (neither given) on any robot. Higher `Priority` runs first."""
    return ModelResponse(jobs.create_job(runtime, caller, body))


@router.get("/read/{guid}", summary="Read a job")
def read_job(guid: str, runtime: RuntimeDep, caller: CallerDep) -> JobRead:
    return jobs.read_job(runtime, caller, guid)


@router.get("/list", summary="List jobs with filters and paging, newest first")
def list_jobs(
    query: Annotated[JobFilter, Query()], runtime: RuntimeDep, caller: CallerDep
) -> Page[JobRead]:
    return jobs.list_jobs(runtime, caller, query)


@router.api_route("/update", methods=["PUT", "POST"], summary="Change a job's status or report")
def update_job(body: JobUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    """Robots report `Status` (8 In Progress, then 4, 5, 7 or 3), `Progress`, `ReturnValue`
    and `Message`. A status change the transition table refuses gets 409."""
    jobs.update_job(runtime, caller, body)
    return []


@router.post("/stop", summary="Request a soft stop")
def stop_job(body: JobRef, runtime: RuntimeDep, caller: CallerDep) -> JobRead:
    return jobs.stop_job(runtime, caller, body.guid)


@router.post("/abort", summary="Abort (kill) a job")
def abort_job(body: JobRef, runtime: RuntimeDep, caller: CallerDep) -> JobRead:
    return jobs.stop_job(runtime, caller, body.guid, abort=True)


@router.post("/clone", summary="Create a job like another one")
def clone_job(body: JobRef, runtime: RuntimeDep, caller: CallerDep) -> JobRead:
    return jobs.clone_job(runtime, caller, body.guid)


@router.delete("/delete/{guid}", summary="Delete a job that has ended")
def delete_job(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    jobs.delete_job(runtime, caller, guid)
    return []
