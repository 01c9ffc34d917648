"""Roboteasy integration API: login, and (with the jobs) run, result and delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse

from robofleet.server.api.deps import CallerDep, RuntimeDep, client_address
from robofleet.server.api.errors import LOGIN_LIMITED
from robofleet.server.api.spring_route import SpringRoute
from robofleet.server.runtime.security import IssuedToken
from robofleet.server.schemas.roboteasy import (
    RoboteasyLogin,
    RoboteasyResult,
    RoboteasyRun,
    RoboteasyRunV2,
    RoboteasyToken,
)
from robofleet.server.services.jobs import roboteasy

router = APIRouter(tags=["Roboteasy"], route_class=SpringRoute)


def _login(body: RoboteasyLogin, request: Request, runtime: RuntimeDep) -> IssuedToken:
    return roboteasy.login(
        runtime,
        body,
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )


@router.post(
    "/api/user/auth",
    response_class=PlainTextResponse,
    summary="Log in (v1); returns `Bearer <jwt>` as text",
    responses={
        200: {"content": {"text/plain": {"example": "Bearer eyJhbGciOi..."}}},
        **LOGIN_LIMITED,
    },
)
def auth_v1(body: RoboteasyLogin, request: Request, runtime: RuntimeDep) -> PlainTextResponse:
    return PlainTextResponse("Bearer " + _login(body, request, runtime).token)


@router.post(
    "/api/user/v2/auth",
    summary="Log in (v2); returns an OAuth-style token object",
    responses=LOGIN_LIMITED,
)
def auth_v2(body: RoboteasyLogin, request: Request, runtime: RuntimeDep) -> RoboteasyToken:
    issued = _login(body, request, runtime)
    return RoboteasyToken(access_token=issued.token, expires_in=issued.expires_in)


Computer = Annotated[str, Path(alias="ID_COMPUTER", description="A robot: id, GUID or name.")]
Robot = Annotated[str, Path(alias="ID_ROBOT", description="A process: id, GUID or name.")]
Execution = Annotated[str, Path(alias="ID_EXECUTION", description="The job's GUID.")]
_TEXT_ID: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"example": "5e1c0b6e-9d7e-4a41-9a57-2d1c3c0f7a10"}}}
}


@router.post(
    "/api/integration/v1/run/{ID_COMPUTER}/{ID_ROBOT}",
    response_class=PlainTextResponse,
    summary="Run a robot with variables (v1); returns the execution id as text",
    responses=_TEXT_ID,
)
def run_v1(
    computer: Computer,
    robot: Robot,
    runtime: RuntimeDep,
    caller: CallerDep,
    body: RoboteasyRun | None = None,
) -> PlainTextResponse:
    """`ID_COMPUTER` is a robot and `ID_ROBOT` a process; `variables` become parameters."""
    return PlainTextResponse(roboteasy.run(runtime, caller, computer, robot, body))


@router.get(
    "/api/integration/v1/run/{ID_COMPUTER}/{ID_ROBOT}",
    response_class=PlainTextResponse,
    summary="Run a robot; query parameters, if any, are its variables (v1)",
    responses=_TEXT_ID,
)
def run_v1_get(
    computer: Computer, robot: Robot, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> PlainTextResponse:
    """`?CNPJ=1&IE=2` runs with the text variables CNPJ and IE; none runs with the
    process's defaults."""
    variables = RoboteasyRun.from_query(request.query_params.multi_items())
    return PlainTextResponse(roboteasy.run(runtime, caller, computer, robot, variables))


@router.post(
    "/api/integration/v2/run/{ID_COMPUTER}/{ID_ROBOT}",
    summary="Run a robot, with or without variables (v2)",
)
def run_v2(
    computer: Computer,
    robot: Robot,
    runtime: RuntimeDep,
    caller: CallerDep,
    body: RoboteasyRun | None = None,
) -> RoboteasyRunV2:
    return RoboteasyRunV2(id=roboteasy.run(runtime, caller, computer, robot, body))


@router.get(
    "/api/integration/v1/result/{ID_COMPUTER}/{ID_EXECUTION}",
    summary="Status, logs, progress and return value of an execution",
)
def result(
    computer: Computer, execution: Execution, runtime: RuntimeDep, caller: CallerDep
) -> RoboteasyResult:
    return roboteasy.result(runtime, caller, computer, execution)


@router.delete(
    "/api/integration/v1/delete/{ID_COMPUTER}/{ID_EXECUTION}",
    summary="Remove a queued execution, stop a running one, or forget an ended one",
    response_class=PlainTextResponse,
)
def delete(
    computer: Computer, execution: Execution, runtime: RuntimeDep, caller: CallerDep
) -> PlainTextResponse:
    """Queued: it leaves the queue. Running: it is asked to stop (as /api/job/stop) and
    stays readable here until it ends. Ended: `result` answers 404 for it from now on, while
    Robofleet's own API keeps it in the job history."""
    roboteasy.delete(runtime, caller, computer, execution)
    return PlainTextResponse("")
