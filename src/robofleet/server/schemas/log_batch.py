"""Reading a batch of log lines fast: the agents' hot path.

Validating each line with pydantic (key spellings folded, every value walked for NUL bytes)
cost more than storing it. Here a line in the shape agents send is checked by hand, to the
same rules; a line in any other shape goes through the LogLine model, so what is accepted and
the 422 a bad line gets are exactly the model's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from pydantic import Field, ValidationError

from robofleet.contract import LogLevel, normalize_level
from robofleet.server.domain.errors import InvalidInput, MalformedRequest
from robofleet.server.domain.values import storable_problem
from robofleet.server.schemas.base import (
    EARLIEST_TIME,
    LATEST_TIME,
    SherpaModel,
    _as_utc,
    invalid_input,
    snake_key,
)
from robofleet.server.schemas.logs import LogLine

MAX_BATCH_LINES: Final = 5000
MAX_MESSAGE: Final = 100_000
_TEXT_FIELDS: Final = ("robot_guid", "process_version_guid", "job_guid", "screenshot")
_KNOWN: Final = frozenset({*_TEXT_FIELDS, "level", "message", "fields", "time"})


@dataclass(slots=True)
class BatchLine:
    """One line, checked: the attributes LogLine has, so either feeds the service."""

    message: str
    level: str = LogLevel.INFO.value
    fields: dict[str, Any] | None = None
    time: datetime | None = None
    robot_guid: str | None = None
    process_version_guid: str | None = None
    job_guid: str | None = None
    screenshot: str | None = None
    fields_json: str | None = None
    """`fields` as JSON text, when the fast path already encoded it (to check it)."""


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_SECOND: Final = (EARLIEST_TIME - _EPOCH).total_seconds()
_LAST_SECOND: Final = (LATEST_TIME - _EPOCH).total_seconds()
_LONG_NUMBER = re.compile(rb"\d{19}")
_spellings: dict[str, str | None] = {}
_levels: dict[object, str | None] = {}


def _field_name(key: str) -> str | None:
    name = _spellings.get(key, "")
    if name == "":
        folded = snake_key(key)
        name = folded if folded in _KNOWN else None
        if len(_spellings) < 1000:  # keys are few; a client inventing keys is not cached
            _spellings[key] = name
    return name


def _level(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        return _levels[value]
    except KeyError:
        level = normalize_level(value)
        name = level.value if level else None
        if len(_levels) < 1000:
            _levels[value] = name
        return name


def _fast(item: object) -> BatchLine | None:
    """The line, when it is in the usual shape and valid; None to let the model decide."""
    if type(item) is not dict:
        return None
    values: dict[str, Any] = {}
    for key, value in item.items():
        name = _field_name(key)
        if name is None or name in values:
            return None
        values[name] = value
    message = values.pop("message", None)
    if type(message) is not str:
        return None
    message = message.strip()
    if len(message) > MAX_MESSAGE or "\x00" in message:
        return None
    return _filled(BatchLine(message), values)


def _filled(line: BatchLine, values: dict[str, Any]) -> BatchLine | None:
    if "level" in values:
        level = _level(values.pop("level"))
        if level is None:
            return None
        line.level = level
    fields = values.pop("fields", None)
    if fields is not None:
        if type(fields) is not dict:
            return None
        if fields:
            # Encoding shows a NUL byte as \u0000; only a long number needs the full walk
            # (a whole number past 64 bits). The text is what the store gets, too.
            text = orjson.dumps(fields)
            if b"\\u0000" in text or (_LONG_NUMBER.search(text) and storable_problem(fields)):
                return None
            line.fields_json = text.decode()
        line.fields = fields
    when = values.pop("time", None)
    if type(when) is float or type(when) is int:
        # Unix seconds, what agents send: datetime arithmetic in C, not fromtimestamp's
        # time zone conversion. NaN fails both comparisons and goes to the model.
        if not _FIRST_SECOND <= when < _LAST_SECOND:
            return None
        line.time = _EPOCH + timedelta(seconds=when)
    elif when is not None:
        try:
            when = _as_utc(when)
        except ValueError:
            return None
        if when is not None and not isinstance(when, datetime):
            return None
        line.time = when
    for name, text in values.items():  # only the text fields are left
        if text is None:
            continue
        if type(text) is not str or "\x00" in text:
            return None
        setattr(line, name, text.strip())
    return line


def _checked(item: object, index: int) -> BatchLine:
    try:
        model = LogLine.model_validate(item)
    except ValidationError as exc:
        raise invalid_input(exc, prefix=("Lines", index)) from None
    return BatchLine(
        message=model.message,
        level=model.level,
        fields=model.fields,
        time=model.time,
        robot_guid=model.robot_guid,
        process_version_guid=model.process_version_guid,
        job_guid=model.job_guid,
        screenshot=model.screenshot,
    )


def parse_batch(raw: bytes) -> list[BatchLine]:
    """The lines of a batch body: `{"Lines": [...]}` or a bare list of lines."""
    try:
        data = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"the body is not valid JSON ({exc})") from None
    if isinstance(data, dict):
        lines = None
        for key, value in data.items():
            if snake_key(str(key)) != "lines":
                raise InvalidInput.for_field(
                    str(key), "is not a field of this operation; send Lines (a list of lines)"
                )
            lines = value
        if lines is None:
            raise InvalidInput.for_field("Lines", "is required")
    elif isinstance(data, list):
        lines = data
    else:
        raise MalformedRequest("the body must be a JSON object with Lines, or a list of lines")
    if not isinstance(lines, list):
        raise InvalidInput.for_field("Lines", "must be a list of lines")
    if len(lines) > MAX_BATCH_LINES:
        raise InvalidInput.for_field(
            "Lines", f"holds {len(lines)} lines; send at most {MAX_BATCH_LINES} per batch"
        )
    return [_fast(item) or _checked(item, index) for index, item in enumerate(lines)]


class LogBatch(SherpaModel):
    """For OpenAPI: the body parse_batch reads (a bare list of lines is accepted too)."""

    lines: list[LogLine] = Field(max_length=MAX_BATCH_LINES)


def batch_request_schema() -> dict[str, Any]:
    """The request body in OpenAPI: LogBatch, whose lines are the LogLine component."""
    schema = LogBatch.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    lines = {"$ref": "#/components/schemas/LogLine"}
    bare = {"type": "array", "items": lines, "maxItems": MAX_BATCH_LINES}
    return {"oneOf": [schema, bare]}
