"""Where a mail's attachments go in Storage, and the task data that carries a mail to its job.

Each mail gets a folder of its own: `Triggers/<trigger id>/<first 16 hex of the mail key>/`,
holding its attachments under their own names (a repeated name gets " (2)", " (3)"...). The
folder is unique to the mail and the trigger, so a robot finds a mail's files by the Path
its task names, and two mails with an attachment of the same name never collide.

The bytes are kept in the blob store before the transaction that writes the rows (blobs are
content addressed: keeping the same bytes twice after a retry costs nothing); the folder and
file rows are written in the transaction of the task and the job, so a fire that does not
happen leaves no rows behind."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from robofleet.server.db.tables import StorageFileRow, StorageFolderRow
from robofleet.server.domain.errors import TooLarge
from robofleet.server.domain.mail_conditions import Attachment, Mail
from robofleet.server.runtime import Runtime
from robofleet.server.services.storage.content import Incoming, content_type_of, spool_and_keep
from robofleet.server.services.storage.tree import system_folder

ROOT_FOLDER = "Triggers"


@dataclass(frozen=True)
class KeptFile:
    name: str
    size: int
    sha256: str | None
    """None: not kept (larger than the storage limit); `problem` says why."""
    content_type: str
    problem: str = ""


@dataclass(frozen=True)
class KeptMail:
    mail: Mail
    files: tuple[KeptFile, ...]


def _safe_name(name: str) -> str:
    # A Storage name is one path segment: no slashes; keep it within the column's length.
    cleaned = name.replace("/", "_").replace("\\", "_").strip() or "attachment"
    return cleaned[-255:]


def _unique_names(attachments: tuple[Attachment, ...]) -> list[str]:
    names: list[str] = []
    for attachment in attachments:
        base = _safe_name(attachment.name)
        name, n = base, 1
        while name.casefold() in (taken.casefold() for taken in names):
            n += 1
            stem, dot, ext = base.rpartition(".")
            name = f"{stem} ({n}).{ext}" if dot and stem else f"{base} ({n})"
        names.append(name)
    return names


def keep_attachments(runtime: Runtime, mail: Mail) -> KeptMail:
    """Put the mail's attachments in the blob store (before any transaction)."""
    files = []
    for attachment, name in zip(mail.attachments, _unique_names(mail.attachments), strict=True):
        content_type = content_type_of(name, attachment.content_type, None)
        try:
            spooled = spool_and_keep(runtime, Incoming(io.BytesIO(attachment.content)))
        except TooLarge as exc:
            files.append(KeptFile(name, len(attachment.content), None, content_type, str(exc)))
            continue
        files.append(KeptFile(name, spooled.size, spooled.sha256, content_type))
    return KeptMail(mail, tuple(files))


def _folder(
    session: Session, account_id: int, parent_id: int | None, name: str, access: int | None
) -> StorageFolderRow:
    folder = system_folder(session, account_id, parent_id, name, create=True, access=access)
    assert folder is not None
    return folder


def write_files(
    session: Session, *, account_id: int, trigger_id: int, access: int | None, kept: KeptMail
) -> list[dict[str, Any]]:
    """The mail's folder and file rows; the task's `Attachments` list."""
    if not kept.files:
        return []
    root = _folder(session, account_id, None, ROOT_FOLDER, None)
    mine = _folder(session, account_id, root.id, str(trigger_id), access)
    leaf_name = kept.mail.key[:16]
    leaf = _folder(session, account_id, mine.id, leaf_name, access)
    path = f"{ROOT_FOLDER}/{trigger_id}/{leaf_name}"
    listed: list[dict[str, Any]] = []
    for file in kept.files:
        entry: dict[str, Any] = {"Name": file.name, "Size": file.size, "Path": None}
        if file.sha256 is None:
            entry["Problem"] = file.problem
            listed.append(entry)
            continue
        row = StorageFileRow(
            account_id=account_id,
            name=file.name,
            storage_folder_id=leaf.id,
            sha256=file.sha256,
            size=file.size,
            content_type=file.content_type,
        )
        session.add(row)
        session.flush()
        entry.update({"Path": f"{path}/{file.name}", "Guid": row.guid})
        listed.append(entry)
    return listed


def mail_data(mail: Mail, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "From": mail.sender,
        "To": mail.to,
        "Subject": mail.subject,
        "Date": mail.date,
        "MessageId": mail.message_id,
        "Body": mail.body,
        "Attachments": attachments,
    }


def task_name(mails: list[Mail]) -> str:
    first = mails[0].subject.strip() or "(no subject)"
    name = first if len(mails) == 1 else f"{len(mails)} mails: {first}, ..."
    return name[:400]
