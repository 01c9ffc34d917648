"""Roboteasy integration API: login, and (with the jobs) run, result and delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from robofleet.server.api.deps import RuntimeDep, client_address
from robofleet.server.schemas.roboteasy import RoboteasyLogin, RoboteasyToken
from robofleet.server.services import auth
from robofleet.server.services.security import IssuedToken

router = APIRouter(tags=["Roboteasy"])


def _login(body: RoboteasyLogin, request: Request, runtime: RuntimeDep) -> IssuedToken:
    return auth.login(
        runtime.db,
        runtime.tokens,
        login_name=body.username,
        password=body.password,
        ttl_seconds=runtime.settings.roboteasy_token_ttl_seconds,
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )


@router.post(
    "/api/user/auth",
    response_class=PlainTextResponse,
    summary="Log in (v1); returns `Bearer <jwt>` as text",
    responses={200: {"content": {"text/plain": {"example": "Bearer eyJhbGciOi..."}}}},
)
def auth_v1(body: RoboteasyLogin, request: Request, runtime: RuntimeDep) -> PlainTextResponse:
    return PlainTextResponse("Bearer " + _login(body, request, runtime).token)


@router.post("/api/user/v2/auth", summary="Log in (v2); returns an OAuth-style token object")
def auth_v2(body: RoboteasyLogin, request: Request, runtime: RuntimeDep) -> RoboteasyToken:
    issued = _login(body, request, runtime)
    return RoboteasyToken(access_token=issued.token, expires_in=issued.expires_in)
