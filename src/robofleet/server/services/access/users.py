"""Users of an account, their passwords, roles and the blocked flag."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import ApiKeyRow, RoleRow, UserRoleRow, UserRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.security import hash_password
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.identity import UserCreate, UserRead, UserUpdate
from robofleet.server.services.access.accounts import ensure_login_free
from robofleet.server.services.access.admins import keep_an_admin
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find, find_many, scoped


def _find_roles(session: Session, caller: Caller, refs: list[int | str]) -> list[RoleRow]:
    return find_many(session, RoleRow, caller, refs, entity="role", field="Roles")


def _set_roles(session: Session, user: UserRow, roles: list[RoleRow]) -> None:
    session.execute(delete(UserRoleRow).where(UserRoleRow.user_id == user.id))
    session.add_all(UserRoleRow(user_id=user.id, role_id=role.id) for role in roles)


def _read(session: Session, user: UserRow) -> UserRead:
    names = session.scalars(
        select(RoleRow.name)
        .join(UserRoleRow, UserRoleRow.role_id == RoleRow.id)
        .where(UserRoleRow.user_id == user.id, RoleRow.is_deleted.is_(False))
        .order_by(RoleRow.name)
    ).all()
    return UserRead.model_validate({**user.__dict__, "roles": list(names)})


def create_user(runtime: Runtime, caller: Caller, data: UserCreate) -> GuidResponse:
    caller.require(Screen.USER, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        ensure_login_free(session, data.login)
        user = UserRow(
            account_id=caller.account_id,
            password_hash=hash_password(data.password, runtime.settings.password_hashing),
            **data.model_dump(exclude={"password", "roles"}),
        )
        session.add(user)
        session.flush()
        _set_roles(session, user, _find_roles(session, caller, data.roles))
        return GuidResponse(guid=user.guid)


def read_user(runtime: Runtime, caller: Caller, ref: int | str) -> UserRead:
    caller.require(Screen.USER, Action.READ)
    with runtime.db.read() as session:
        return _read(session, find(session, UserRow, caller, ref, entity="user", name_attr="login"))


def list_users(runtime: Runtime, caller: Caller) -> list[UserRead]:
    caller.require(Screen.USER, Action.READ)
    with runtime.db.read() as session:
        users = session.scalars(scoped(UserRow, caller).order_by(UserRow.id)).all()
        return [_read(session, user) for user in users]


def update_user(runtime: Runtime, caller: Caller, data: UserUpdate) -> None:
    caller.require(Screen.USER, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        user = find(
            session, UserRow, caller, data.guid, entity="user", name_attr="login", field="Guid"
        )
        if data.is_blocked and user.id == caller.principal.user_id:
            raise Conflict("you cannot block your own user", code="self_block")
        roles = _find_roles(session, caller, data.roles) if data.roles is not None else None
        if data.is_blocked:
            keep_an_admin(session, user, change="block")
        if roles is not None and not any(role.is_administrator for role in roles):
            keep_an_admin(session, user, change="take the Administrator role from")
        if data.login is not None and data.login.lower() != user.login.lower():
            ensure_login_free(session, data.login)
        changes = data.model_dump(exclude={"guid", "password", "roles"}, exclude_none=True)
        for name, value in changes.items():
            setattr(user, name, value)
        if data.password is not None:
            user.password_hash = hash_password(data.password, runtime.settings.password_hashing)
        if roles is not None:
            _set_roles(session, user, roles)
            user.updated_at = utcnow()


def delete_user(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.USER, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        user = find(session, UserRow, caller, ref, entity="user", name_attr="login")
        if user.id == caller.principal.user_id:
            raise Conflict("you cannot delete your own user", code="self_delete")
        keep_an_admin(session, user, change="delete")
        user.is_deleted = True
        for key in session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.user_id == user.id, ApiKeyRow.revoked_at.is_(None))
        ):
            key.revoked_at = utcnow()
