"""Finding folders and files by id, GUID or path (`a/b/c`), and the paths of rows."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import StorageFileRow, StorageFolderRow
from robofleet.server.domain.errors import Conflict, InvalidInput, NotFound
from robofleet.server.domain.refs import parse_ref
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find, scoped

ROOT = ""
"""A parent reference meaning the root (given as empty text or 0)."""


def _segments(path: str, field: str) -> list[str]:
    parts = [part.strip() for part in path.strip().strip("/").split("/")]
    if not all(parts):
        raise InvalidInput.for_field(field, f"'{path}' has an empty part between '/'")
    return parts


def _child_folder(
    session: Session, caller: Caller, parent_id: int | None, name: str
) -> StorageFolderRow | None:
    query = scoped(StorageFolderRow, caller).where(StorageFolderRow.name == name)
    query = query.where(
        StorageFolderRow.parent_id.is_(None)
        if parent_id is None
        else StorageFolderRow.parent_id == parent_id
    )
    return session.scalar(query.limit(1))


def system_folder(
    session: Session,
    account_id: int,
    parent_id: int | None,
    name: str,
    *,
    create: bool,
    access: int | None = None,
) -> StorageFolderRow | None:
    """A folder the server keeps files in for the account (e-mail attachments, Robocorp work
    items and assets), found by name under `parent_id` (None: the top), or made when
    `create` (in access folder `access`)."""
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
    folder = StorageFolderRow(
        account_id=account_id, name=name, parent_id=parent_id, folder_id=access
    )
    session.add(folder)
    session.flush()
    return folder


def _folder_at(session: Session, caller: Caller, parts: list[str], ref: object) -> int | None:
    parent_id: int | None = None
    for name in parts:
        folder = _child_folder(session, caller, parent_id, name)
        if folder is None:
            raise NotFound("storage folder", ref)
        parent_id = folder.id
    return parent_id


def find_folder(
    session: Session, caller: Caller, ref: int | str, *, field: str = "Guid"
) -> StorageFolderRow:
    """A folder by id, GUID or path from the root (`a/b`; a bare name is a top folder)."""
    parsed = parse_ref(ref, field=field)
    if parsed.kind != "name":
        return find(session, StorageFolderRow, caller, ref, entity="storage folder", field=field)
    folder_id = _folder_at(session, caller, _segments(str(parsed.value), field), ref)
    folder = session.get(StorageFolderRow, folder_id)
    assert folder is not None
    return folder


def parent_id_for(
    session: Session, caller: Caller, ref: int | str | None, *, field: str
) -> int | None:
    """The folder a parent field names; None for the root (or when not given)."""
    if ref is None or ref == ROOT:
        return None
    return find_folder(session, caller, ref, field=field).id


def visible_folder(session: Session, caller: Caller, folder_id: int | None, ref: object) -> None:
    """A file is visible when its folder is (access folders hold folders, not files)."""
    if folder_id is None:
        return
    query = scoped(StorageFolderRow, caller).where(StorageFolderRow.id == folder_id)
    if session.scalar(query.limit(1)) is None:
        raise NotFound("storage file", ref)


def find_file(
    session: Session, caller: Caller, ref: int | str, *, field: str = "Guid"
) -> StorageFileRow:
    """A file by id, GUID or path (`folder/sub/name`; a bare name is a file at the root)."""
    parsed = parse_ref(ref, field=field)
    if parsed.kind != "name":
        row = find(session, StorageFileRow, caller, ref, entity="storage file", field=field)
    else:
        *folders, name = _segments(str(parsed.value), field)
        folder_id = _folder_at(session, caller, folders, ref)
        found = file_named(session, caller, folder_id, name)
        if found is None:
            raise NotFound("storage file", ref)
        row = found
    visible_folder(session, caller, row.storage_folder_id, ref)
    return row


def file_named(
    session: Session, caller: Caller, folder_id: int | None, name: str
) -> StorageFileRow | None:
    query = scoped(StorageFileRow, caller).where(StorageFileRow.name == name)
    query = query.where(
        StorageFileRow.storage_folder_id.is_(None)
        if folder_id is None
        else StorageFileRow.storage_folder_id == folder_id
    )
    return session.scalar(query.limit(1))


def ensure_folder_name_free(
    session: Session, caller: Caller, parent_id: int | None, name: str, *, but: int | None = None
) -> None:
    query = select(StorageFolderRow.id).where(
        StorageFolderRow.account_id == caller.account_id,
        StorageFolderRow.is_deleted.is_(False),
        func.coalesce(StorageFolderRow.parent_id, 0) == (parent_id or 0),
        StorageFolderRow.name == name,
    )
    if but is not None:
        query = query.where(StorageFolderRow.id != but)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(
            f"a folder named '{name}' already exists there; choose another", code="name_taken"
        )


def ensure_file_name_free(
    session: Session, caller: Caller, folder_id: int | None, name: str, *, but: int | None = None
) -> None:
    query = select(StorageFileRow.id).where(
        StorageFileRow.account_id == caller.account_id,
        StorageFileRow.is_deleted.is_(False),
        func.coalesce(StorageFileRow.storage_folder_id, 0) == (folder_id or 0),
        StorageFileRow.name == name,
    )
    if but is not None:
        query = query.where(StorageFileRow.id != but)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(
            f"a file named '{name}' already exists in that folder; choose another",
            code="name_taken",
        )


class FolderIndex:
    """Every folder of an account by id, read once: paths and parent GUIDs of many rows."""

    def __init__(self, session: Session, account_id: int) -> None:
        rows = session.execute(
            select(
                StorageFolderRow.id,
                StorageFolderRow.guid,
                StorageFolderRow.name,
                StorageFolderRow.parent_id,
            ).where(StorageFolderRow.account_id == account_id)
        ).all()
        self._rows = {row.id: (row.guid, row.name, row.parent_id) for row in rows}

    def guid(self, folder_id: int | None) -> str | None:
        return None if folder_id is None else self._rows[folder_id][0]

    def path(self, folder_id: int | None) -> str:
        names: list[str] = []
        seen: set[int] = set()
        while folder_id is not None and folder_id not in seen:
            seen.add(folder_id)
            _, name, folder_id = self._rows[folder_id]
            names.append(name)
        return "/".join(reversed(names))

    def ancestors(self, folder_id: int | None) -> set[int]:
        """The folder and every folder above it."""
        found: set[int] = set()
        while folder_id is not None and folder_id not in found:
            found.add(folder_id)
            folder_id = self._rows[folder_id][2]
        return found
