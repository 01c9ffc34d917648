"""How Sherpa callers name a related object: by integer id, by GUID, or by name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

RefKind = Literal["id", "guid", "name"]


@dataclass(frozen=True)
class Ref:
    kind: RefKind
    value: int | str

    def __str__(self) -> str:
        return str(self.value)


def parse_ref(raw: int | str) -> Ref:
    """Classify a reference. Digits are ids, UUIDs are GUIDs, anything else is a name."""
    if isinstance(raw, bool):
        raise ValueError("a reference must be an id, a GUID or a name, not a boolean")
    if isinstance(raw, int):
        return Ref("id", raw)
    text = raw.strip()
    if not text:
        raise ValueError("a reference must not be empty")
    if text.isdigit():
        return Ref("id", int(text))
    if is_guid(text):
        return Ref("guid", text.lower())
    return Ref("name", text)


def is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) in (32, 36, 38)


def new_guid() -> str:
    return str(uuid.uuid4())
