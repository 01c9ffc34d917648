"""Signed URLs for one file: download (GET) or replace (PUT) without other credentials."""

from __future__ import annotations

import time

from sqlalchemy import select

from robofleet.server.db.audit import AuditActor
from robofleet.server.db.tables import StorageFileRow
from robofleet.server.domain.errors import NotFound
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.signing import SignedGrant
from robofleet.server.schemas.storage import FileSign, SignedQuery, SignedUrl
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.storage.content import Incoming, content_type_of, spool_and_keep
from robofleet.server.services.storage.files import file_download
from robofleet.server.services.storage.transfer import Download
from robofleet.server.services.storage.tree import find_file

SIGNED_PATH = "/api/files/signed/"


def sign_file(runtime: Runtime, caller: Caller, data: FileSign) -> SignedUrl:
    """A URL (relative to the server) that lets anyone holding it GET or PUT this one file
    until it expires. The caller needs the right the URL grants."""
    caller.require(Screen.STORAGE, Action.READ if data.method == "GET" else Action.UPDATE)
    with runtime.db.read() as session:
        row = find_file(session, caller, data.file, field="File")
    grant = SignedGrant(data.method, row.guid, int(time.time()) + data.expires_in)
    signature = runtime.storage_urls.signature(grant)
    url = f"{SIGNED_PATH}{row.guid}?expires={grant.expires}&signature={signature}"
    return SignedUrl(url=url, method=data.method, expires_at=grant.expires)


def _granted_file(runtime: Runtime, method: str, guid: str, query: SignedQuery) -> StorageFileRow:
    """The signature is checked before the database is asked anything (403 first)."""
    grant = SignedGrant(method, guid.strip().lower(), query.expires)
    runtime.storage_urls.verify(grant, query.signature, now=time.time())
    with runtime.db.read() as session:
        row = session.scalar(
            select(StorageFileRow).where(
                StorageFileRow.guid == grant.subject, StorageFileRow.is_deleted.is_(False)
            )
        )
    if row is None:
        raise NotFound("storage file", guid)
    return row


def signed_download(
    runtime: Runtime, guid: str, query: SignedQuery, range_header: str | None
) -> Download:
    return file_download(runtime, _granted_file(runtime, "GET", guid, query), range_header)


def signed_upload(runtime: Runtime, guid: str, query: SignedQuery, incoming: Incoming) -> None:
    """Replace the file's content; audited as written through a signed URL."""
    row = _granted_file(runtime, "PUT", guid, query)
    spooled = spool_and_keep(runtime, incoming)
    actor = AuditActor(kind="signed_url", guid=None, name="signed URL", account_id=row.account_id)
    with runtime.db.write(actor=actor) as session:
        current = session.get(StorageFileRow, row.id)
        if current is None or current.is_deleted:
            raise NotFound("storage file", guid)
        current.sha256 = spooled.sha256
        current.size = spooled.size
        current.content_type = content_type_of(current.name, None, incoming.content_type)
