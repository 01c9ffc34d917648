"""How Sherpa callers name a related object: by integer id, by GUID, or by name."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from typing import Literal

from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.values import INT64_MAX, INT64_MIN, NUL_PROBLEM

RefKind = Literal["id", "guid", "name"]

# Only the spellings people write: 8-4-4-4-12 hex digits, optionally in braces, or 32 hex
# digits. (uuid.UUID also takes `urn:uuid:`, stray hyphens and non-ASCII digits.)
_HEX = "[0-9a-fA-F]"
_GUID = re.compile(
    rf"(?:{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
    rf"|\{{{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\}}"
    rf"|{_HEX}{{32}})"
)


@dataclass(frozen=True)
class Ref:
    kind: RefKind
    value: int | str

    def __str__(self) -> str:
        return str(self.value)


def classify_ref(raw: int | str) -> Ref:
    """Classify a reference, or ValueError saying why it names nothing.

    ASCII digits are ids, within 64 bits (superscript or Arabic-Indic digits are no number
    here); well-formed GUIDs are GUIDs, in their canonical lower-case form; anything else is
    a name. Booleans and empty text are refused: `true` must not mean id 1."""
    if isinstance(raw, bool):
        raise ValueError("must be an id, a GUID or a name, not a boolean")
    if not isinstance(raw, int | str):
        raise ValueError("must be an id, a GUID or a name")
    if isinstance(raw, int):
        return Ref("id", _bounded(raw))
    text = raw.strip()
    if not text:
        raise ValueError("must not be empty: give an id, a GUID or a name")
    if "\x00" in text:
        raise ValueError(NUL_PROBLEM)
    if text.isascii() and text.isdigit():
        return Ref("id", _bounded(int(text)))
    if _GUID.fullmatch(text):
        return Ref("guid", _canonical_guid(text))
    return Ref("name", text)


def guid_of(raw: str) -> str | None:
    """The GUID `raw` names as classify_ref reads it (canonical form), None when classify_ref
    reads it as something else or refuses it; without building a Ref, for batches."""
    text = raw.strip()
    # A GUID of 32 decimal digits is an id to classify_ref (a too big one: refused).
    if _GUID.fullmatch(text) is None or text.isdigit():
        return None
    return _canonical_guid(text)


def _canonical_guid(text: str) -> str:
    """`{ABC...}` or 32 hex digits as the stored form: lower case, 8-4-4-4-12."""
    if len(text) == 36:  # 8-4-4-4-12 already (the form robots send back): only the case
        return text.lower()
    hex_digits = text.strip("{}").replace("-", "").lower()
    return "-".join(
        (hex_digits[:8], hex_digits[8:12], hex_digits[12:16], hex_digits[16:20], hex_digits[20:])
    )


def parse_ref(raw: int | str, *, field: str = "Guid") -> Ref:
    """`classify_ref` for services: a bad reference is the caller's InvalidInput (422)."""
    try:
        return classify_ref(raw)
    except ValueError as exc:
        raise InvalidInput.for_field(field, str(exc)) from None


def _bounded(number: int) -> int:
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError(f"is not an id: ids are whole numbers up to {INT64_MAX}")
    return number


def is_guid(text: str) -> bool:
    return _GUID.fullmatch(text.strip()) is not None


def new_guid() -> str:
    return str(uuid.uuid4())


NO_LEASE = "00000000-0000-0000-0000-000000000000"
"""The nil GUID, which no lease is (leases are new_guid's version 4 GUIDs)."""


def lease_key(raw: str) -> str:
    """A lease id as the stores compare it: a GUID in its canonical form, any other text as
    NO_LEASE. PostgreSQL keeps lease ids as `uuid`, which refuses other text; a robot that
    sends one holds no task, as with a stranger's lease (409 lease_lost)."""
    return guid_of(raw) or NO_LEASE


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_guids(count: int) -> list[str]:
    """`count` random (version 4) GUIDs at once, as uuid4 makes them, for a fraction of its
    cost per GUID: one read of the system's randomness for all, no UUID objects."""
    digits = os.urandom(16 * count).hex()
    guids = []
    for start in range(0, 32 * count, 32):
        h = digits[start : start + 32]
        guids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}")
    return guids
