"""Account tab: tenants, managed by accounts allowed to create accounts."""

from __future__ import annotations

from typing import Any

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.identity import (
    AccountCreate,
    AccountCreated,
    AccountRead,
    AccountUpdate,
)
from robofleet.server.services.access import accounts

router = sherpa_router("Account", prefix="/api/account")


@router.post("/create", summary="Create an account")
def create_account(body: AccountCreate, runtime: RuntimeDep, caller: CallerDep) -> AccountCreated:
    """Creates the account with its Administrator role, a user with the given login and
    password, and an API key, returned once."""
    return accounts.create_account(runtime, caller, body)


@router.get("/read/{guid}", summary="Read an account")
def read_account(guid: str, runtime: RuntimeDep, caller: CallerDep) -> AccountRead:
    return accounts.read_account(runtime, caller, guid)


@router.get("/read", summary="List the accounts this account manages")
def list_accounts(runtime: RuntimeDep, caller: CallerDep) -> list[AccountRead]:
    return accounts.list_accounts(runtime, caller)


@router.put("/update", summary="Update an account")
def update_account(body: AccountUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    accounts.update_account(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete an account")
def delete_account(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    """Soft delete: the account's keys, users and robots stop working."""
    accounts.delete_account(runtime, caller, guid)
    return []
