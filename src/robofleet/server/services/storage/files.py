"""Storage files: create (multipart, Sherpa's text forms, or a streamed body), read, list,
update (rename, move, describe, replace), delete, download."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robofleet.server.db.blobs import Spooled
from robofleet.server.db.tables import StorageFileRow, StorageFolderRow
from robofleet.server.domain.errors import Conflict, InvalidInput, NotFound
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.storage import (
    FileCreate,
    FileFilter,
    FileRead,
    FileUpdate,
    FileUpload,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import scoped
from robofleet.server.services.storage.content import (
    Incoming,
    content_type_of,
    incoming_text,
    spool_and_keep,
)
from robofleet.server.services.storage.transfer import Download, blob_download
from robofleet.server.services.storage.tree import (
    FolderIndex,
    ensure_file_name_free,
    file_named,
    find_file,
    parent_id_for,
)

NAME_TAKEN = Conflict("a file of that name already exists in that folder", code="name_taken")


def file_read(row: StorageFileRow, index: FolderIndex) -> FileRead:
    folder_path = index.path(row.storage_folder_id)
    return FileRead.model_validate(
        {
            **row.__dict__,
            "folder_guid": index.guid(row.storage_folder_id),
            "path": f"{folder_path}/{row.name}" if folder_path else row.name,
            "url": f"/api/files/download/{row.guid}",
        }
    )


def _content(data: FileCreate | FileUpdate, upload: Incoming | None) -> Incoming | None:
    if upload is not None:
        if data.file is not None:
            raise InvalidInput.for_field("File", "give the file as an upload or as text, not both")
        return upload
    if data.file is None:
        return None
    return incoming_text(data.file, data.encoding)


def _apply_content(row: StorageFileRow, spooled: Spooled, content_type: str) -> None:
    row.sha256 = spooled.sha256
    row.size = spooled.size
    row.content_type = content_type


def create_file(runtime: Runtime, caller: Caller, data: FileCreate, upload: Incoming | None) -> str:
    """The new file's GUID. The bytes are stored before the row is written, so the write
    transaction never waits on an upload."""
    caller.require(Screen.STORAGE, Action.CREATE)
    incoming = _content(data, upload)
    if incoming is None:
        raise InvalidInput.for_field("File", "is required: upload a file or send its text")
    with runtime.db.read() as session:
        folder_id = parent_id_for(session, caller, data.folder_guid, field="FolderGuid")
        ensure_file_name_free(session, caller, folder_id, data.name)
    spooled = spool_and_keep(runtime, incoming)
    content_type = content_type_of(data.name, data.content_type, incoming.content_type)
    try:
        with runtime.db.write(actor=caller.actor()) as session:
            folder_id = parent_id_for(session, caller, data.folder_guid, field="FolderGuid")
            ensure_file_name_free(session, caller, folder_id, data.name)
            row = StorageFileRow(
                account_id=caller.account_id,
                name=data.name,
                description=data.description or "",
                storage_folder_id=folder_id,
            )
            _apply_content(row, spooled, content_type)
            session.add(row)
            session.flush()
            return row.guid
    except IntegrityError:
        raise NAME_TAKEN from None


def _file_to_update(session: Session, caller: Caller, data: FileUpdate) -> StorageFileRow:
    if data.guid is not None:
        return find_file(session, caller, data.guid)
    if data.name is None:
        raise InvalidInput.for_field(
            "Guid", "is required unless Name (and FolderGuid) name the file"
        )
    folder_id = parent_id_for(session, caller, data.folder_guid, field="FolderGuid")
    row = file_named(session, caller, folder_id, data.name)
    if row is None:
        raise NotFound("storage file", data.name)
    return row


def update_file(
    runtime: Runtime, caller: Caller, data: FileUpdate, upload: Incoming | None
) -> None:
    """Rename (Name), move (FolderGuid; empty is the root), describe, replace (File).
    Without Guid, the file named Name in FolderGuid is the one updated (Sherpa's form)."""
    caller.require(Screen.STORAGE, Action.UPDATE)
    incoming = _content(data, upload)
    with runtime.db.read() as session:
        _file_to_update(session, caller, data)
    spooled = spool_and_keep(runtime, incoming) if incoming is not None else None
    try:
        with runtime.db.write(actor=caller.actor()) as session:
            row = _file_to_update(session, caller, data)
            if data.guid is not None:
                if data.folder_guid is not None:
                    row.storage_folder_id = parent_id_for(
                        session, caller, data.folder_guid, field="FolderGuid"
                    )
                if data.name is not None:
                    row.name = data.name
            if data.description is not None:
                row.description = data.description
            if spooled is not None and incoming is not None:
                declared = incoming.content_type
                _apply_content(row, spooled, content_type_of(row.name, data.content_type, declared))
            elif data.content_type:
                row.content_type = data.content_type
            ensure_file_name_free(session, caller, row.storage_folder_id, row.name, but=row.id)
    except IntegrityError:
        raise NAME_TAKEN from None


def upload_file(runtime: Runtime, caller: Caller, data: FileUpload, incoming: Incoming) -> FileRead:
    """The streamed upload: creates the file, or replaces the content of the file of that
    name in that folder."""
    caller.require(Screen.STORAGE, Action.CREATE)
    caller.require(Screen.STORAGE, Action.UPDATE)
    with runtime.db.read() as session:
        parent_id_for(session, caller, data.folder, field="Folder")
    spooled = spool_and_keep(runtime, incoming)
    content_type = content_type_of(data.name, None, incoming.content_type)
    try:
        with runtime.db.write(actor=caller.actor()) as session:
            folder_id = parent_id_for(session, caller, data.folder, field="Folder")
            row = file_named(session, caller, folder_id, data.name)
            if row is None:
                row = StorageFileRow(
                    account_id=caller.account_id,
                    name=data.name,
                    description=data.description or "",
                    storage_folder_id=folder_id,
                )
                session.add(row)
            elif data.description is not None:
                row.description = data.description
            _apply_content(row, spooled, content_type)
            session.flush()
            return file_read(row, FolderIndex(session, caller.account_id))
    except IntegrityError:
        raise NAME_TAKEN from None


def read_file(runtime: Runtime, caller: Caller, ref: int | str) -> FileRead:
    caller.require(Screen.STORAGE, Action.READ)
    with runtime.db.read() as session:
        row = find_file(session, caller, ref)
        return file_read(row, FolderIndex(session, caller.account_id))


def list_files(runtime: Runtime, caller: Caller, data: FileFilter) -> list[FileRead]:
    """Every file the caller sees, or (with Folder) the files in one folder; empty Folder:
    the files at the root."""
    caller.require(Screen.STORAGE, Action.READ)
    with runtime.db.read() as session:
        query = scoped(StorageFileRow, caller)
        if data.folder is not None:
            folder_id = parent_id_for(session, caller, data.folder, field="Folder")
            query = query.where(
                StorageFileRow.storage_folder_id.is_(None)
                if folder_id is None
                else StorageFileRow.storage_folder_id == folder_id
            )
        visible = scoped(StorageFolderRow, caller).with_only_columns(StorageFolderRow.id)
        query = query.where(
            StorageFileRow.storage_folder_id.is_(None)
            | StorageFileRow.storage_folder_id.in_(visible.scalar_subquery())
        )
        rows = session.scalars(
            query.order_by(StorageFileRow.id).offset(data.offset).limit(data.count)
        ).all()
        index = FolderIndex(session, caller.account_id)
        return [file_read(row, index) for row in rows]


def delete_file(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.STORAGE, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        find_file(session, caller, ref).is_deleted = True


def download_file(
    runtime: Runtime, caller: Caller, ref: int | str, range_header: str | None
) -> Download:
    caller.require(Screen.STORAGE, Action.READ)
    with runtime.db.read() as session:
        row = find_file(session, caller, ref)
    return file_download(runtime, row, range_header)


def file_download(runtime: Runtime, row: StorageFileRow, range_header: str | None) -> Download:
    return blob_download(
        runtime.blobs,
        sha256=row.sha256,
        size=row.size,
        content_type=row.content_type,
        filename=row.name,
        range_header=range_header,
        entity="storage file",
        ref=row.guid,
    )
