"""The Storage folders the /robocorp API keeps its files in (account level, created on first
use): `Work items/<task GUID>/` for a work item's files, `Robocorp assets/` for assets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import StorageFileRow, StorageFolderRow
from robofleet.server.services.storage.tree import system_folder

WORK_ITEMS = "Work items"
ASSETS = "Robocorp assets"


def folder_at(
    session: Session, account_id: int, path: list[str], *, create: bool
) -> StorageFolderRow | None:
    folder: StorageFolderRow | None = None
    for name in path:
        folder = system_folder(
            session, account_id, folder.id if folder else None, name, create=create
        )
        if folder is None:
            return None
    return folder


def files_in(session: Session, folder_id: int) -> list[StorageFileRow]:
    return list(
        session.scalars(
            select(StorageFileRow)
            .where(
                StorageFileRow.storage_folder_id == folder_id,
                StorageFileRow.is_deleted.is_(False),
            )
            .order_by(StorageFileRow.id)
        )
    )


def subfolders(session: Session, folder_id: int) -> list[StorageFolderRow]:
    return list(
        session.scalars(
            select(StorageFolderRow).where(
                StorageFolderRow.parent_id == folder_id, StorageFolderRow.is_deleted.is_(False)
            )
        )
    )
