"""Accounts (tenants): created and managed by accounts allowed to create accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import AccountRow, ApiKeyRow, RoleRow, UserRoleRow, UserRow
from robofleet.server.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import parse_ref
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.security import hash_api_key, hash_password, key_hint, new_api_key
from robofleet.server.schemas.identity import (
    AccountCreate,
    AccountCreated,
    AccountRead,
    AccountUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.settings import PasswordHashing

ADMINISTRATOR_ROLE = "Administrator"


@dataclass(frozen=True)
class ProvisionedAccount:
    account: AccountRow
    admin: UserRow
    api_key: str


def _require_manager(caller: Caller) -> None:
    if not caller.principal.can_manage_accounts:
        raise Forbidden(
            "only an administrator of an account allowed to create accounts may manage accounts",
            reason="not_account_manager",
        )


def ensure_login_free(session: Session, login: str, *, field: str = "Login") -> None:
    """User logins are unique across all accounts: Roboteasy's login names no account."""
    taken = session.scalar(
        select(UserRow.id).where(
            func.lower(UserRow.login) == login.lower(), UserRow.is_deleted.is_(False)
        )
    )
    if taken:
        raise Conflict(f"{field} '{login}' is already taken; choose another", code="login_taken")


def _ensure_account_login_free(session: Session, login: str) -> None:
    taken = session.scalar(
        select(AccountRow.id).where(
            func.lower(AccountRow.login) == login.lower(), AccountRow.is_deleted.is_(False)
        )
    )
    if taken:
        raise Conflict(f"an account with Login '{login}' already exists", code="login_taken")


def account_admin(session: Session, account_id: int) -> UserRow | None:
    """The user created with the account: the account's own login."""
    return session.scalar(
        select(UserRow)
        .where(UserRow.account_id == account_id, UserRow.is_deleted.is_(False))
        .order_by(UserRow.id)
        .limit(1)
    )


def provision_account(
    session: Session,
    data: AccountCreate,
    *,
    parent_id: int | None,
    hashing: PasswordHashing,
    api_key: str | None = None,
) -> ProvisionedAccount:
    """An account with its Administrator role, its admin user and its API key."""
    _ensure_account_login_free(session, data.login)
    ensure_login_free(session, data.login)
    fields = data.model_dump(exclude={"password"})
    account = AccountRow(**fields, parent_id=parent_id)
    session.add(account)
    session.flush()
    role = RoleRow(
        account_id=account.id,
        name=ADMINISTRATOR_ROLE,
        is_administrator=True,
        all_folders=True,
        permissions={},
        description="Every right on every screen and folder of the account.",
    )
    admin = UserRow(
        account_id=account.id,
        login=data.login,
        password_hash=hash_password(data.password, hashing),
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        department=data.department,
    )
    session.add_all([role, admin])
    session.flush()
    session.add(UserRoleRow(user_id=admin.id, role_id=role.id))
    key = api_key or new_api_key()
    session.add(
        ApiKeyRow(account_id=account.id, key_hash=hash_api_key(key), key_hint=key_hint(key))
    )
    session.flush()
    return ProvisionedAccount(account, admin, key)


def create_account(runtime: Runtime, caller: Caller, data: AccountCreate) -> AccountCreated:
    _require_manager(caller)
    with runtime.db.write(actor=caller.actor()) as session:
        made = provision_account(
            session,
            data,
            parent_id=caller.account_id,
            hashing=runtime.settings.password_hashing,
        )
        return AccountCreated(
            guid=made.account.guid, api_key=made.api_key, admin_login=made.admin.login
        )


def _managed_account(session: Session, caller: Caller, ref: int | str) -> AccountRow:
    """Accounts this caller may see: its own and the ones it created."""
    parsed = parse_ref(ref)
    column = {"id": AccountRow.id, "guid": AccountRow.guid, "name": AccountRow.login}[parsed.kind]
    account = session.scalar(
        select(AccountRow).where(column == parsed.value, AccountRow.is_deleted.is_(False))
    )
    if account is None or (
        account.id != caller.account_id and account.parent_id != caller.account_id
    ):
        raise NotFound("account", ref)
    return account


def read_account(runtime: Runtime, caller: Caller, ref: int | str) -> AccountRead:
    with runtime.db.read() as session:
        account = _managed_account(session, caller, ref)
        if account.id != caller.account_id:
            _require_manager(caller)
        else:
            caller.require(Screen.ACCOUNT, Action.READ)
        return AccountRead.model_validate(account)


def list_accounts(runtime: Runtime, caller: Caller) -> list[AccountRead]:
    _require_manager(caller)
    with runtime.db.read() as session:
        rows = session.scalars(
            select(AccountRow)
            .where(
                AccountRow.is_deleted.is_(False),
                (AccountRow.parent_id == caller.account_id) | (AccountRow.id == caller.account_id),
            )
            .order_by(AccountRow.id)
        ).all()
        return [AccountRead.model_validate(row) for row in rows]


def _own_settings_only(caller: Caller, data: AccountUpdate) -> bool:
    """An account's administrator may change its own security settings without being an
    account manager: whether its robots must send their secret."""
    return data.model_fields_set <= {"guid", "require_robot_secret"} and (
        caller.principal.permissions.allows(Screen.ACCOUNT, Action.UPDATE)
    )


def update_account(runtime: Runtime, caller: Caller, data: AccountUpdate) -> None:
    own_settings = _own_settings_only(caller, data)
    if not own_settings:
        _require_manager(caller)
    with runtime.db.write(actor=caller.actor()) as session:
        account = _managed_account(session, caller, data.guid)
        if own_settings and account.id != caller.account_id:
            _require_manager(caller)
        changes = data.model_dump(exclude={"guid", "password"}, exclude_none=True)
        if "login" in changes and changes["login"].lower() != account.login.lower():
            _ensure_account_login_free(session, changes["login"])
        if data.password is not None:
            admin = account_admin(session, account.id)
            if admin is None:
                raise InvalidInput.for_field(
                    "Password", "the account has no user left to set it on; create a user instead"
                )
            admin.password_hash = hash_password(data.password, runtime.settings.password_hashing)
        for name, value in changes.items():
            setattr(account, name, value)


def delete_account(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    _require_manager(caller)
    with runtime.db.write(actor=caller.actor()) as session:
        account = _managed_account(session, caller, ref)
        if account.id == caller.account_id:
            raise Conflict("an account cannot delete itself", code="self_delete")
        account.is_deleted = True
        account.updated_at = utcnow()
