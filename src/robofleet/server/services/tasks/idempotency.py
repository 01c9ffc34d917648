"""Task adds a client may retry without adding twice.

The client names an add: with an `Idempotency-Key` header (a bulk add names its item i
`<key>#<i>`) and/or with the task's own GUID (`Guid`, chosen by the client). The key is stored
with the task, with a digest of what the add asked for, for the task's whole life (tasks are
never purged; a deleted task keeps its key). An add whose key or GUID names an existing task of
the account is a retry: asking for the same (queue and fields), it answers with that task and
adds nothing; asking for something else, it is refused with 409 and adds nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from robofleet.contract import IDEMPOTENCY_KEY_HEADER
from robofleet.server.db import task_statements as statements
from robofleet.server.db.tables import TaskRow
from robofleet.server.domain.errors import Conflict, InvalidInput
from robofleet.server.schemas.queues import TaskFields

KEY_MAX = 200
"""Longest key accepted (the column holds a bulk item's `#<index>` suffix too)."""


@dataclass(frozen=True)
class AddName:
    """What names one add: its idempotency key and the client's GUID for the task."""

    key: str | None = None
    guid: str | None = None

    @property
    def given(self) -> bool:
        return self.key is not None or self.guid is not None


def checked_key(header: str | None) -> str | None:
    """The Idempotency-Key header's value, or None when it is not sent."""
    if header is None:
        return None
    key = header.strip()
    if not key or len(key) > KEY_MAX or not (key.isascii() and key.isprintable()):
        raise InvalidInput.for_field(
            IDEMPOTENCY_KEY_HEADER, f"must be 1 to {KEY_MAX} visible ASCII characters"
        )
    return key


def item_key(key: str | None, index: int) -> str | None:
    """The key of item `index` of a bulk add named `key`."""
    return None if key is None else f"{key}#{index}"


def request_digest(queue_id: int, name: str, fields: TaskFields, guid: str | None) -> str:
    """What an add asks for, as a digest: its queue, name, GUID and every task field."""
    content = {
        "queue": queue_id,
        "name": name,
        "guid": guid,
        **fields.model_dump(mode="json", include=set(TaskFields.model_fields)),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def earlier_adds(session: Session, account_id: int, names: list[AddName]) -> list[TaskRow | None]:
    """For each add, the task its key or GUID already names (the key decides first)."""
    keys = [n.key for n in names if n.key is not None]
    guids = [n.guid for n in names if n.guid is not None]
    by_key = statements.tasks_by_idempotency_key(session, account_id, keys) if keys else {}
    by_guid = statements.tasks_by_guid(session, guids) if guids else {}
    found: list[TaskRow | None] = []
    for name in names:
        task = by_key.get(name.key) if name.key is not None else None
        if task is None and name.guid is not None:
            task = by_guid.get(name.guid)
        found.append(task)
    return found


def replayed(task: TaskRow, account_id: int, name: AddName, digest: str) -> TaskRow:
    """`task`, when the add named `name` asking for `digest` is a retry of the add that
    created it; otherwise the 409 that says which name is taken."""
    if task.account_id != account_id:
        # GUIDs are unique across accounts; say no more about the other task.
        raise Conflict(
            f"the task GUID {name.guid} is taken; choose another; nothing was added",
            code="guid_taken",
        )
    if task.request_digest != digest:
        by_key = name.key is not None and task.idempotency_key == name.key
        what = f"{IDEMPOTENCY_KEY_HEADER} '{name.key}'" if by_key else f"task GUID {name.guid}"
        raise Conflict(
            f"{what} already names a task added with other content; nothing was added",
            code="idempotency_key_reused",
        )
    return task
