"""Value forms of Sherpa's pages that the shared field types (schemas.base) do not cover.

- Sherpa's read rows show flags as 0/1 (`"is_deleted": "0"`, `"unique_tasks": 1`): `Bit`
  is a boolean inside Robofleet and 0 or 1 on the wire.
- Robot reads show times as Unix integers and 0 for "never" (`"LastHeartbeatAt": 0`):
  `UnixTimeOrZero`.
- Sherpa's examples send some text fields as JSON numbers (`"MinVersionToRun": 1.05` on
  create, `"min_version_to_run": "1.14"` on read): `NumberOrText` takes both and keeps text.
- Sherpa's pages name request fields that Robofleet does not store (its pages differ
  between versions): `SherpaDocumented.sherpa_ignored` lists them per model, so they are
  accepted and dropped, while a field nobody documents is still refused by name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, PlainSerializer, model_validator

from robofleet.server.schemas.base import SherpaModel, snake_key


def bit(value: bool) -> int:
    """A flag as Sherpa's read rows show it: 0 or 1."""
    return 1 if value else 0


def _unix_or_zero(value: datetime | None) -> int:
    return 0 if value is None else int(value.timestamp())


def _number_as_text(value: Any) -> Any:
    """1.05 -> "1.05", 2 -> "2"; text passes; booleans and NaN/infinity are refused."""
    if isinstance(value, bool):
        raise ValueError("must be text or a number, not true/false")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return repr(value)
    return value


Bit = Annotated[bool, PlainSerializer(bit, return_type=int)]
UnixTimeOrZero = Annotated[datetime | None, PlainSerializer(_unix_or_zero, return_type=int)]
NumberOrText = Annotated[str, BeforeValidator(_number_as_text)]


class SherpaDocumented(SherpaModel):
    """A request whose Sherpa page documents fields Robofleet accepts but does not use.

    Subclasses list those fields (snake_case) in `sherpa_ignored`; docs/decisions.md says
    why each is ignored."""

    sherpa_ignored: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_documented_but_unused(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not cls.sherpa_ignored:
            return data
        return {k: v for k, v in data.items() if snake_key(str(k)) not in cls.sherpa_ignored}
