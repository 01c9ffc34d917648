"""Storage assets = files under the account's `Robocorp assets/` Storage folder; a name with
`/` lives in subfolders (`a/b.txt` is file `b.txt` of folder `a`). An asset's id is its
file's GUID. A new asset, not uploaded yet, has an empty Content-Type (payload `empty`).

Uploads are stateless: inline `data` completes at once; without it the robot PUTs to a
signed URL, and the upload (id = the file's update time in microseconds when it started)
is completed once the file has changed since.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import StorageFileRow, StorageFolderRow
from robofleet.server.domain.errors import Conflict, MalformedRequest, NotFound
from robofleet.server.runtime import Runtime
from robofleet.server.services.robocorp.context import Call, authorize, parse_json
from robofleet.server.services.robocorp.folders import ASSETS, files_in, folder_at, subfolders
from robofleet.server.services.robocorp.urls import (
    ASSET_UPLOAD,
    SIGNED_URL_ACTOR,
    base_url,
    check_upload,
    download_url,
    upload_url,
)
from robofleet.server.services.storage.content import Incoming, spool_and_keep

NAME_PREFIX = "name:"
NOT_UPLOADED = ""


def _segments(name: str) -> list[str]:
    parts = name.split("/")
    if not name or any(not p.strip() or len(p) > 255 for p in parts):
        raise MalformedRequest(
            "an asset name must be non-empty, with no empty part between slashes"
        )
    return parts


def _content_type(given: str) -> str:
    """Text comes back decoded by `requests`: name the charset the library encoded with."""
    kind = given.strip() or "application/octet-stream"
    if kind.lower().startswith("text/") and "charset" not in kind.lower():
        kind += "; charset=utf-8"
    return kind


def _walk(session: Session, folder_id: int, prefix: str) -> list[tuple[str, StorageFileRow]]:
    found = [(prefix + f.name, f) for f in files_in(session, folder_id)]
    for sub in subfolders(session, folder_id):
        found += _walk(session, sub.id, f"{prefix}{sub.name}/")
    return found


def _root(session: Session, account_id: int, *, create: bool) -> StorageFolderRow | None:
    return folder_at(session, account_id, [ASSETS], create=create)


def _name_of(session: Session, row: StorageFileRow, root_id: int) -> str:
    parts = [row.name]
    folder_id = row.storage_folder_id
    while folder_id is not None and folder_id != root_id:
        folder = session.get(StorageFolderRow, folder_id)
        if folder is None:
            break
        parts.append(folder.name)
        folder_id = folder.parent_id
    return "/".join(reversed(parts))


def _find(session: Session, account_id: int, ref: str) -> tuple[str, StorageFileRow]:
    root = _root(session, account_id, create=False)
    if root is not None:
        if ref.startswith(NAME_PREFIX):
            name = ref[len(NAME_PREFIX) :]
            parts = name.split("/")
            folder = folder_at(session, account_id, [ASSETS, *parts[:-1]], create=False)
            row = _named(session, folder.id, parts[-1]) if folder is not None else None
            if row is not None:
                return name, row
        else:
            by_id = session.scalar(
                select(StorageFileRow).where(
                    StorageFileRow.account_id == account_id,
                    StorageFileRow.guid == ref.strip().lower(),
                    StorageFileRow.is_deleted.is_(False),
                )
            )
            if by_id is not None and _under(session, by_id, root.id):
                return _name_of(session, by_id, root.id), by_id
    raise NotFound("asset", ref)


def _named(session: Session, folder_id: int, name: str) -> StorageFileRow | None:
    return session.scalar(
        select(StorageFileRow).where(
            StorageFileRow.storage_folder_id == folder_id,
            StorageFileRow.name == name,
            StorageFileRow.is_deleted.is_(False),
        )
    )


def _under(session: Session, row: StorageFileRow, root_id: int) -> bool:
    folder_id = row.storage_folder_id
    while folder_id is not None:
        if folder_id == root_id:
            return True
        folder = session.get(StorageFolderRow, folder_id)
        folder_id = folder.parent_id if folder else None
    return False


def list_assets(runtime: Runtime, call: Call) -> dict[str, Any]:
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        root = _root(session, run.caller.account_id, create=False)
        found = _walk(session, root.id, "") if root else []
    data = [{"id": row.guid, "name": name} for name, row in sorted(found, key=lambda f: f[0])]
    return {"data": data, "has_more": False, "next": None}


def create_asset(runtime: Runtime, call: Call, body: bytes) -> dict[str, Any]:
    data = parse_json(body, "body")
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise MalformedRequest("the body must be a JSON object with a string 'name'")
    parts = _segments(name)
    run = authorize(runtime, call)
    empty = spool_and_keep(runtime, Incoming(io.BytesIO(b"")))
    with runtime.db.write(actor=run.caller.actor()) as session:
        account_id = run.caller.account_id
        folder = folder_at(session, account_id, [ASSETS, *parts[:-1]], create=True)
        assert folder is not None
        if _named(session, folder.id, parts[-1]) is not None:
            raise Conflict(f"an asset named '{name}' already exists", code="asset_exists")
        row = StorageFileRow(
            account_id=account_id,
            name=parts[-1],
            storage_folder_id=folder.id,
            sha256=empty.sha256,
            size=0,
            content_type=NOT_UPLOADED,
        )
        session.add(row)
        session.flush()
        return {"id": row.guid, "name": name}


def read_asset(runtime: Runtime, call: Call, ref: str) -> dict[str, Any]:
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        name, row = _find(session, run.caller.account_id, ref)
    if row.content_type == NOT_UPLOADED:
        payload: dict[str, Any] = {"type": "empty"}
    else:
        url = download_url(runtime, base_url(runtime, call.base), row.guid)
        payload = {"type": "url", "content_type": row.content_type, "url": url}
    return {"id": row.guid, "name": name, "payload": payload}


def delete_asset(runtime: Runtime, call: Call, ref: str) -> None:
    run = authorize(runtime, call)
    with runtime.db.write(actor=run.caller.actor()) as session:
        _, row = _find(session, run.caller.account_id, ref)
        session.get(StorageFileRow, row.id).is_deleted = True  # type: ignore[union-attr]


def _micros(row: StorageFileRow) -> int:
    return int(row.updated_at.timestamp() * 1_000_000)


def start_upload(runtime: Runtime, call: Call, asset_id: str, body: bytes) -> dict[str, Any]:
    data = parse_json(body, "body")
    if not isinstance(data, dict) or not isinstance(data.get("content_type"), str):
        raise MalformedRequest("the body must be a JSON object with a string 'content_type'")
    content_type = _content_type(data["content_type"])
    inline = data.get("data")
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        _, row = _find(session, run.caller.account_id, asset_id)
    if inline is None:
        subject = f"{row.guid}\n{content_type}"
        url = upload_url(
            runtime,
            base_url(runtime, call.base),
            ASSET_UPLOAD,
            subject,
            {"content_type": content_type},
        )
        upload = str(_micros(row))
        return {"id": upload, "status": "pending", "content_type": content_type, "upload_url": url}
    if not isinstance(inline, str):
        raise MalformedRequest("'data' must be a base64 string")
    try:
        raw = base64.b64decode(inline, validate=True)
    except binascii.Error:
        raise MalformedRequest("'data' is not valid base64") from None
    _replace(runtime, row.guid, content_type, Incoming(io.BytesIO(raw)), run.caller.actor())
    return {"id": "0", "status": "completed", "content_type": content_type}


def _replace(
    runtime: Runtime, guid: str, content_type: str, incoming: Incoming, actor: Any
) -> None:
    spooled = spool_and_keep(runtime, incoming)
    with runtime.db.write(actor=actor) as session:
        row = session.scalar(
            select(StorageFileRow).where(
                StorageFileRow.guid == guid, StorageFileRow.is_deleted.is_(False)
            )
        )
        if row is None:
            raise NotFound("asset", guid)
        row.sha256, row.size, row.content_type = spooled.sha256, spooled.size, content_type
        row.updated_at = utcnow()  # even for the same bytes: it completes the upload


def finish_upload(
    runtime: Runtime, guid: str, content_type: str, expires: int, signature: str, incoming: Incoming
) -> None:
    check_upload(runtime, f"{guid}\n{content_type}", expires, signature)
    _replace(runtime, guid, content_type, incoming, SIGNED_URL_ACTOR)


def upload_status(runtime: Runtime, call: Call, asset_id: str, upload_id: str) -> dict[str, Any]:
    if not upload_id.isdigit():
        raise NotFound("upload", upload_id)
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        _, row = _find(session, run.caller.account_id, asset_id)
    done = _micros(row) > int(upload_id) and row.content_type != NOT_UPLOADED
    return {"id": upload_id, "status": "completed" if done else "pending"}
