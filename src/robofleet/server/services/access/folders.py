"""Access folders: named buckets that narrow which objects a role reaches."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import Base
from robofleet.server.db.tables import AccessFolderRow
from robofleet.server.domain.errors import Conflict, Forbidden
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.identity import FolderCreate, FolderRead, FolderUpdate
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import ensure_name_free, find, scoped


def create_folder(runtime: Runtime, caller: Caller, data: FolderCreate) -> GuidResponse:
    caller.require(Screen.ACCESS_FOLDER, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        ensure_name_free(session, AccessFolderRow, caller, data.name, entity="access folder")
        folder = AccessFolderRow(account_id=caller.account_id, **data.model_dump())
        session.add(folder)
        session.flush()
        return GuidResponse(guid=folder.guid)


def read_folder(runtime: Runtime, caller: Caller, ref: int | str) -> FolderRead:
    caller.require(Screen.ACCESS_FOLDER, Action.READ)
    with runtime.db.read() as session:
        return FolderRead.model_validate(
            find(session, AccessFolderRow, caller, ref, entity="access folder")
        )


def list_folders(runtime: Runtime, caller: Caller) -> list[FolderRead]:
    caller.require(Screen.ACCESS_FOLDER, Action.READ)
    with runtime.db.read() as session:
        rows = session.scalars(scoped(AccessFolderRow, caller).order_by(AccessFolderRow.id))
        return [FolderRead.model_validate(row) for row in rows]


def update_folder(runtime: Runtime, caller: Caller, data: FolderUpdate) -> None:
    caller.require(Screen.ACCESS_FOLDER, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        folder = find(
            session, AccessFolderRow, caller, data.guid, entity="access folder", field="Guid"
        )
        if data.name is not None and data.name != folder.name:
            ensure_name_free(session, AccessFolderRow, caller, data.name, entity="access folder")
        for name, value in data.model_dump(exclude={"guid"}, exclude_none=True).items():
            setattr(folder, name, value)


def delete_folder(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.ACCESS_FOLDER, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        folder = find(session, AccessFolderRow, caller, ref, entity="access folder")
        held = _objects_in(session, folder.id)
        if held:
            raise Conflict(
                f"access folder '{folder.name}' still holds {held} object(s); move them out first",
                code="folder_not_empty",
            )
        folder.is_deleted = True


def _objects_in(session: Session, folder_id: int) -> int:
    total = 0
    for table in Base.metadata.tables.values():
        if "folder_id" in table.c and "is_deleted" in table.c:
            total += (
                session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.folder_id == folder_id, table.c.is_deleted.is_(False))
                )
                or 0
            )
    return total


def folder_id_for(session: Session, caller: Caller, ref: int | str | None) -> int | None:
    """Resolve the `Folder` field of a create or update; empty means the root."""
    if ref is None or ref == "" or ref == 0:
        return None
    folder = find(session, AccessFolderRow, caller, ref, entity="access folder", field="Folder")
    if not caller.sees_folder(folder.id):
        raise Forbidden(
            f"your roles do not reach access folder '{folder.name}'", reason="folder_denied"
        )
    return folder.id
