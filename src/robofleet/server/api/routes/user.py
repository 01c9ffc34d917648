"""Users of an account, and login."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from robofleet.server.api.deps import CallerDep, RuntimeDep, client_address
from robofleet.server.api.errors import LOGIN_LIMITED
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.identity import (
    LoginRequest,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)
from robofleet.server.services.access import auth, users

router = sherpa_router("User", prefix="/api/user")


@router.post("/login", summary="Log in; returns a bearer token", responses=LOGIN_LIMITED)
def login(body: LoginRequest, request: Request, runtime: RuntimeDep) -> TokenResponse:
    """Needs no credentials. Send the token as `Authorization: Bearer <access_token>`."""
    issued = auth.login(
        runtime,
        login_name=body.login,
        password=body.password,
        ttl_seconds=runtime.settings.token_ttl_seconds,
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/create", summary="Create a user")
def create_user(body: UserCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    return users.create_user(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a user")
def read_user(guid: str, runtime: RuntimeDep, caller: CallerDep) -> UserRead:
    return users.read_user(runtime, caller, guid)


@router.get("/read", summary="List users")
def list_users(runtime: RuntimeDep, caller: CallerDep) -> list[UserRead]:
    return users.list_users(runtime, caller)


@router.put("/update", summary="Update a user (password, roles, blocked flag...)")
def update_user(body: UserUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    users.update_user(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete a user")
def delete_user(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    users.delete_user(runtime, caller, guid)
    return []
