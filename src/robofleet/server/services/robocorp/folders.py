"""The Storage folders the /robocorp API keeps its files in (account level, created on first
use): `Work items/<task GUID>/` for a work item's files, `Robocorp assets/` for assets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import StorageFileRow, StorageFolderRow

WORK_ITEMS = "Work items"
ASSETS = "Robocorp assets"


def child_folder(
    session: Session, account_id: int, parent_id: int | None, name: str, *, create: bool
) -> StorageFolderRow | None:
    query = select(StorageFolderRow).where(
        StorageFolderRow.account_id == account_id,
        StorageFolderRow.name == name,
        StorageFolderRow.is_deleted.is_(False),
        StorageFolderRow.parent_id.is_(None)
        if parent_id is None
        else StorageFolderRow.parent_id == parent_id,
    )
    found = session.scalar(query.limit(1))
    if found is not None or not create:
        return found
    folder = StorageFolderRow(account_id=account_id, name=name, parent_id=parent_id)
    session.add(folder)
    session.flush()
    return folder


def folder_at(
    session: Session, account_id: int, path: list[str], *, create: bool
) -> StorageFolderRow | None:
    folder: StorageFolderRow | None = None
    for name in path:
        folder = child_folder(
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
