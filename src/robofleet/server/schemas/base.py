"""Sherpa's request conventions, parsed in one place.

Sherpa clients send PascalCase JSON (`QueueGuid`), form fields in snake_case (`queue_guid`),
acronyms in capitals (`RobotGUID`), and JSON-in-a-string for nested values. Every request
model inherits `SherpaModel`, whose before-validator folds all those spellings into one
snake_case name, so routes and services only ever see one form.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_pascal

from robofleet.server.domain.errors import FieldProblem, InvalidInput
from robofleet.server.domain.refs import classify_ref
from robofleet.server.domain.values import storable_problem
from robofleet.server.schemas.documented import FLAG_SCHEMA, REF_SCHEMA, TIME_SCHEMA

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\s\-.]+")


@lru_cache(maxsize=4096)  # clients send the same few dozen keys: two regex passes each
def snake_key(key: str) -> str:
    """`RobotGUID` -> `robot_guid`, `QueueGuid` -> `queue_guid`, `queue_guid` unchanged."""
    key = _SEPARATORS.sub("_", key.strip())
    return _WORD_BOUNDARY.sub("_", key).lower()


def fold_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    folded: dict[str, Any] = {}
    for key, value in data.items():
        name = snake_key(str(key))
        if name in folded:
            raise ValueError(f"the field '{key}' is given twice (in two spellings)")
        folded[name] = value
    return folded


def _accepts_bool(annotation: Any) -> bool:
    """Whether a field's type takes a JSON true/false as such (bool, Any, or a union with one)."""
    if annotation is bool or annotation is Any:
        return True
    return any(_accepts_bool(arg) for arg in get_args(annotation) if not isinstance(arg, str))


class StorableModel(BaseModel):
    """A request model whose every field is held to domain.values' rule (no NUL byte, whole
    numbers within 64 bits, finite floats; JSON values and keys included), so both stores
    see only what both can keep and a refusal names its field (422)."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_number(cls, value: Any, info: ValidationInfo) -> Any:
        # Pydantic's lax mode reads true/false as 1/0; a client sending a flag where a number
        # belongs has mixed up two fields, so say so instead of storing 1.
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields[info.field_name]
            if not _accepts_bool(field.annotation):
                raise ValueError("must be a number or text, not a boolean (true/false)")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = storable_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class SherpaModel(StorableModel):
    """A request body in any of Sherpa's spellings; unknown fields are refused."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_pascal,
        validate_by_name=True,
        validate_by_alias=True,
        str_strip_whitespace=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _fold_spellings(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return fold_keys(data)
        return data


def _json_text(value: Any) -> Any:
    """Sherpa sends nested values as JSON strings; accept both the string and the object."""
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return {}
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    return value


def split_refs(value: Any) -> Any:
    """Lists of related objects come as JSON lists or as `a;b;c` strings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


_PRIORITIES = {"low": 1, "normal": 2, "high": 3}


def priority_value(value: Any) -> Any:
    """Jobs and tasks share Sherpa's priorities: 1 Low, 2 Normal, 3 High, by number or name."""
    if isinstance(value, str) and value.strip().lower() in _PRIORITIES:
        return _PRIORITIES[value.strip().lower()]
    return value


def _flag(value: Any) -> Any:
    """0/1, "0"/"1", true/false and "on"/"off" all mean a boolean in Sherpa's forms."""
    if isinstance(value, str) and value.strip().lower() in {"on", "yes"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"off", "no", ""}:
        return False
    return value


def _json_or_text(value: Any) -> Any:
    """A value that may be JSON text or plain text: `{"a": 1}` is an object, `done` a string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


JsonObject = Annotated[dict[str, Any], BeforeValidator(_json_text)]
LenientJson = Annotated[Any, BeforeValidator(_json_or_text)]
Flag = Annotated[bool, BeforeValidator(_flag), WithJsonSchema(FLAG_SCHEMA)]


def _reference(value: Any) -> Any:
    """Refuse what names nothing (empty, `true`, 2^63, a NUL byte) here, with the field's
    name; a GUID is passed on in its canonical form."""
    if not isinstance(value, bool | int | str):
        return value  # the field's type refuses it
    ref = classify_ref(value)
    if ref.kind == "guid":
        return ref.value
    return value.strip() if isinstance(value, str) else value


Ref = Annotated[int | str, BeforeValidator(_reference), WithJsonSchema(REF_SCHEMA)]
"""A related object by id, GUID or name (see domain.refs.classify_ref)."""


def _root_if_empty(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


FolderRef = Annotated[
    Ref | None,
    BeforeValidator(_root_if_empty),
    Field(description="Access folder (id, GUID or name); empty or 0 means the root."),
]
"""An access folder by id, GUID or name; empty (or 0) means the root, outside every folder."""


def sherpa_time(value: datetime | None) -> str | None:
    """Sherpa's read rows carry `YYYY-MM-DD HH:MM:SS` times, in UTC here."""
    if value is None:
        return None
    return _sherpa_text(value)


@lru_cache(maxsize=1024)
def _sherpa_text(value: datetime) -> str:
    # A take of 50 tasks renders 350 times, most of them equal (taken, updated and leased at
    # one `now`; added together): kept, each is formatted once. Equal instants in other
    # zones hash alike and read the same in UTC. isoformat is twice as fast as strftime.
    return value.astimezone(UTC).isoformat(" ", "seconds")[:19]


def unix_time(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


SherpaTime = Annotated[datetime | None, PlainSerializer(sherpa_time, return_type=str | None)]
UnixTime = Annotated[datetime | None, PlainSerializer(unix_time, return_type=int | None)]


class RowModel(BaseModel):
    """A read row: Sherpa returns flat objects with snake_case keys."""

    model_config = ConfigDict(from_attributes=True)


class GuidResponse(BaseModel):
    guid: str


class ResultResponse(BaseModel):
    result: str = "1"


_DOTTED = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")

EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 12, 31, tzinfo=UTC)
"""Input times lie in [EARLIEST_TIME, LATEST_TIME): a day inside datetime's year 9999, so a
stored time read back in any time zone (a PostgreSQL session's, a client's) never overflows."""
_TIME_RANGE = (
    f"is out of range: times must lie between {EARLIEST_TIME:%Y-%m-%d} and "
    f"{LATEST_TIME:%Y-%m-%d} (UTC)"
)


def _as_utc(value: Any) -> Any:
    """Accept ISO 8601, `YYYY-MM-DD HH:MM:SS`, Designer's `dd.MM.yyyy HH:mm:ss` and Unix
    seconds; a time without a zone is taken as UTC. Times out of range are refused."""
    try:
        parsed = _parse_time(value)
        if isinstance(parsed, datetime):
            parsed = parsed.astimezone(UTC)
    except (OverflowError, OSError):
        raise ValueError(_TIME_RANGE) from None
    if isinstance(parsed, datetime) and not EARLIEST_TIME <= parsed < LATEST_TIME:
        raise ValueError(_TIME_RANGE)
    return parsed


def _from_unix(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(_TIME_RANGE) from None


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        match = _DOTTED.match(text)
        if match:
            day, month, year, hour, minute, second = match.groups()
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                tzinfo=UTC,
            )
        if text.isascii() and text.isdigit():
            return _from_unix(int(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                "is not a time; use ISO 8601 (2026-01-31T17:00:00Z), "
                "'2026-01-31 17:00:00' (UTC) or Unix seconds"
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("is not a time: Unix seconds must be a finite number")
        return _from_unix(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


InputTime = Annotated[
    Annotated[datetime, WithJsonSchema(TIME_SCHEMA)] | None, BeforeValidator(_as_utc)
]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list operation, with the total number of matches."""

    items: list[T]
    total: int
    offset: int
    count: int


def field_label(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as the caller spells fields: `Items[2].LeaseId`."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    # A name already in PascalCase (a field's first alias, `CredentialId`) is kept as it is:
    # to_pascal would fold it to `Credentialid`.
    shown = [
        (p if p != p.lower() else to_pascal(p)) if p and p[0].isalpha() else f"[{p}]" for p in parts
    ]
    return ".".join(shown).replace(".[", "[") or "body"


def problem_text(error: Any) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "is not a field of this operation; see /docs for the accepted fields"
    if kind == "missing":
        return "is required"
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    if "input" in error and not isinstance(error["input"], dict):
        message += f" (got {repr(error['input'])[:80]})"
    return message


def invalid_input(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> InvalidInput:
    """A pydantic validation failure as the domain's InvalidInput, one detail per field."""
    details = [
        FieldProblem(field_label((*prefix, *e["loc"])), problem_text(e)) for e in exc.errors()
    ]
    return InvalidInput("; ".join(f"{d.field}: {d.problem}" for d in details), details=details)
