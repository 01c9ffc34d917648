"""Roles: rights per screen, and the access folders they reach."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import AccessFolderRow, RoleFolderRow, RoleRow, UserRoleRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.identity import RoleCreate, RoleRead, RoleUpdate
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import ensure_name_free, find, find_many, scoped


def _set_folders(session: Session, caller: Caller, role: RoleRow, refs: list[int | str]) -> None:
    folders = find_many(
        session, AccessFolderRow, caller, refs, entity="access folder", field="Folders"
    )
    session.execute(delete(RoleFolderRow).where(RoleFolderRow.role_id == role.id))
    session.add_all(RoleFolderRow(role_id=role.id, folder_id=folder.id) for folder in folders)


def _read(session: Session, role: RoleRow) -> RoleRead:
    folders = session.scalars(
        select(AccessFolderRow.name)
        .join(RoleFolderRow, RoleFolderRow.folder_id == AccessFolderRow.id)
        .where(RoleFolderRow.role_id == role.id)
        .order_by(AccessFolderRow.name)
    ).all()
    return RoleRead.model_validate({**role.__dict__, "folders": list(folders)})


def create_role(runtime: Runtime, caller: Caller, data: RoleCreate) -> GuidResponse:
    caller.require(Screen.ROLE, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        ensure_name_free(session, RoleRow, caller, data.name, entity="role")
        role = RoleRow(
            account_id=caller.account_id,
            name=data.name,
            description=data.description,
            permissions=data.permissions,
            all_folders=data.all_folders,
        )
        session.add(role)
        session.flush()
        _set_folders(session, caller, role, data.folders)
        return GuidResponse(guid=role.guid)


def read_role(runtime: Runtime, caller: Caller, ref: int | str) -> RoleRead:
    caller.require(Screen.ROLE, Action.READ)
    with runtime.db.read() as session:
        return _read(session, find(session, RoleRow, caller, ref, entity="role"))


def list_roles(runtime: Runtime, caller: Caller) -> list[RoleRead]:
    caller.require(Screen.ROLE, Action.READ)
    with runtime.db.read() as session:
        return [
            _read(session, role)
            for role in session.scalars(scoped(RoleRow, caller).order_by(RoleRow.id))
        ]


def update_role(runtime: Runtime, caller: Caller, data: RoleUpdate) -> None:
    caller.require(Screen.ROLE, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        role = find(session, RoleRow, caller, data.guid, entity="role", field="Guid")
        if role.is_administrator and (
            data.permissions is not None or data.all_folders is False or data.folders is not None
        ):
            raise Conflict(
                "the Administrator role always holds every right; "
                "create another role to grant fewer",
                code="builtin_role",
            )
        if data.name is not None and data.name != role.name:
            ensure_name_free(session, RoleRow, caller, data.name, entity="role")
        for name, value in data.model_dump(exclude={"guid", "folders"}, exclude_none=True).items():
            setattr(role, name, value)
        if data.folders is not None:
            _set_folders(session, caller, role, data.folders)
            role.updated_at = utcnow()


def delete_role(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.ROLE, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        role = find(session, RoleRow, caller, ref, entity="role")
        if role.is_administrator:
            raise Conflict("the Administrator role cannot be deleted", code="builtin_role")
        role.is_deleted = True
        session.execute(delete(UserRoleRow).where(UserRoleRow.role_id == role.id))
