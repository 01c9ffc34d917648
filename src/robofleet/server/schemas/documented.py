"""What the OpenAPI document says of the shared field types of schemas.base: what the
server accepts, so a client (or a fuzzer) generating from the document sends values the
server takes, and values outside it are refused (issue 8, defect 9). Kept apart from the
validators so the two can change independently; api.openapi applies the rest (no NUL
bytes, 64-bit integers, forms and queries as text)."""

from __future__ import annotations

from typing import Any

FLAG_SCHEMA: dict[str, Any] = {
    # schemas.base._flag: booleans, and Sherpa's form spellings of them.
    "anyOf": [
        {"type": "boolean"},
        {"enum": [0, 1, "0", "1", "true", "false", "on", "off", "yes", "no", ""]},
    ]
}

REF_SCHEMA: dict[str, Any] = {
    "anyOf": [
        # Ids are whole numbers of 64 bits (negative ones name nothing, as in a form's text).
        {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        # Not empty once stripped (Python strips \x1c-\x1f and \x85 too), no NUL byte.
        {"type": "string", "pattern": r"^[^\u0000]*[^\s\u0000\x1c-\x1f\x85][^\u0000]*$"},
    ],
    "description": "An id, a GUID or a name.",
}

TIME_SCHEMA: dict[str, Any] = {
    # Documents what both stores keep: 1900 to 9998 (a day of margin at each end for any
    # time zone); the validators refuse times outside that range.
    "anyOf": [
        {
            "type": "string",
            "format": "date-time",
            "pattern": "^(190[1-9]|19[1-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-",
        },
        {"type": "number", "minimum": -2208988800, "maximum": 253402214399},
        # Unix seconds as text, as forms send them and the server reads them in JSON too.
        {"type": "string", "pattern": "^[0-9]{1,11}$"},
    ],
    "description": "ISO 8601 (2026-01-31T17:00:00Z), `2026-01-31 17:00:00` (UTC), "
    "`31.01.2026 17:00:00` or Unix seconds (a number; in a form or query, digits).",
    "x-robofleet-time": True,  # api.openapi: where optional, an empty string is null too
}
