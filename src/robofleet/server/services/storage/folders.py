"""Storage folders: create, read, list, update (rename, describe, move), delete."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robofleet.server.db.tables import StorageFileRow, StorageFolderRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.storage import FolderCreate, FolderFilter, FolderRead, FolderUpdate
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.folders import folder_id_for
from robofleet.server.services.access.lookup import scoped
from robofleet.server.services.storage.tree import (
    FolderIndex,
    ensure_folder_name_free,
    find_folder,
    parent_id_for,
)

NAME_TAKEN = Conflict(
    "a folder of that name already exists there; choose another", code="name_taken"
)


def folder_read(row: StorageFolderRow, index: FolderIndex) -> FolderRead:
    return FolderRead.model_validate(
        {
            **row.__dict__,
            "parent_guid": index.guid(row.parent_id),
            "path": index.path(row.id),
        }
    )


def create_folder(runtime: Runtime, caller: Caller, data: FolderCreate) -> GuidResponse:
    caller.require(Screen.STORAGE, Action.CREATE)
    try:
        with runtime.db.write(actor=caller.actor()) as session:
            parent_id = parent_id_for(session, caller, data.parent_guid, field="ParentGuid")
            ensure_folder_name_free(session, caller, parent_id, data.name)
            row = StorageFolderRow(
                account_id=caller.account_id,
                name=data.name,
                description=data.description,
                parent_id=parent_id,
                folder_id=folder_id_for(session, caller, data.folder),
            )
            session.add(row)
            session.flush()
            return GuidResponse(guid=row.guid)
    except IntegrityError:
        raise NAME_TAKEN from None


def read_folder(runtime: Runtime, caller: Caller, ref: int | str) -> FolderRead:
    caller.require(Screen.STORAGE, Action.READ)
    with runtime.db.read() as session:
        row = find_folder(session, caller, ref)
        return folder_read(row, FolderIndex(session, caller.account_id))


def list_folders(runtime: Runtime, caller: Caller, data: FolderFilter) -> list[FolderRead]:
    """Every folder, or (with Parent) the folders directly inside one; empty Parent: the
    top folders."""
    caller.require(Screen.STORAGE, Action.READ)
    with runtime.db.read() as session:
        query = scoped(StorageFolderRow, caller)
        if data.parent is not None:
            parent_id = parent_id_for(session, caller, data.parent, field="Parent")
            query = query.where(
                StorageFolderRow.parent_id.is_(None)
                if parent_id is None
                else StorageFolderRow.parent_id == parent_id
            )
        rows = session.scalars(
            query.order_by(StorageFolderRow.id).offset(data.offset).limit(data.count)
        ).all()
        index = FolderIndex(session, caller.account_id)
        return [folder_read(row, index) for row in rows]


def _move(session: Session, caller: Caller, row: StorageFolderRow, parent_ref: int | str) -> None:
    parent_id = parent_id_for(session, caller, parent_ref, field="ParentGuid")
    if parent_id is not None and row.id in FolderIndex(session, caller.account_id).ancestors(
        parent_id
    ):
        raise Conflict(
            "a folder cannot move into itself or a folder inside it", code="folder_cycle"
        )
    row.parent_id = parent_id


def update_folder(runtime: Runtime, caller: Caller, data: FolderUpdate) -> None:
    caller.require(Screen.STORAGE, Action.UPDATE)
    try:
        with runtime.db.write(actor=caller.actor()) as session:
            row = find_folder(session, caller, data.guid)
            if data.parent_guid is not None:
                _move(session, caller, row, data.parent_guid)
            if data.name is not None:
                row.name = data.name
            if data.description is not None:
                row.description = data.description
            if data.folder is not None:
                row.folder_id = folder_id_for(session, caller, data.folder)
            ensure_folder_name_free(session, caller, row.parent_id, row.name, but=row.id)
    except IntegrityError:
        raise NAME_TAKEN from None


def delete_folder(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    """Only an empty folder is deleted (409 otherwise): a file is never lost by accident."""
    caller.require(Screen.STORAGE, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        row = find_folder(session, caller, ref)
        child = select(StorageFolderRow.id).where(
            StorageFolderRow.parent_id == row.id, StorageFolderRow.is_deleted.is_(False)
        )
        inside = select(StorageFileRow.id).where(
            StorageFileRow.storage_folder_id == row.id, StorageFileRow.is_deleted.is_(False)
        )
        if session.scalar(child.limit(1)) or session.scalar(inside.limit(1)):
            raise Conflict(
                "the folder is not empty; delete or move its files and folders first",
                code="folder_not_empty",
            )
        row.is_deleted = True
