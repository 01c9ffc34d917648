"""JSON columns read back from PostgreSQL, parsed by orjson wherever it reads what json.loads
reads: psycopg's default json.loads cost 3-4 µs for a task's small `parameters`, more than
all its other columns together."""

from __future__ import annotations

import json
from typing import Any

import orjson

from robofleet.server.domain.values import maybe_past_int64


def loads_stored(text: bytes | str) -> Any:
    """json.loads's value for `text`: orjson's, unless it holds a run of 19 digits (orjson
    reads a whole number past 64 bits as a float) or orjson refuses it (1e400, a lone
    surrogate), where json.loads answers."""
    raw = text.encode() if isinstance(text, str) else text
    if maybe_past_int64(raw):
        return json.loads(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
