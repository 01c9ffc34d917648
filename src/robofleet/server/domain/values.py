"""What a value must be for both stores to keep it: the one rule behind every input field.

SQLite stores a NUL byte, a 2^64 integer or a NaN; PostgreSQL refuses them (and a timestamp
past the year 9999 overflows Python before either sees it). Rather than let each store decide,
every input is held to the stricter rule: no NUL byte in any text (JSON keys and nested values
included), whole numbers within 64 bits, and only finite floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

NUL_PROBLEM: Final = "must not contain a NUL byte (\\u0000)"
INT64_PROBLEM: Final = f"must be a whole number from {INT64_MIN} to {INT64_MAX}"
FLOAT_PROBLEM: Final = "must be a finite number (not NaN or Infinity)"

_DIGITS_AS_NINES: Final = bytes.maketrans(b"012345678", b"999999999")
_NINETEEN_DIGITS: Final = b"9" * 19


def maybe_past_int64(text: bytes) -> bool:
    """19 digits in a row in JSON text: perhaps a whole number past 64 bits (perhaps only part
    of a text), which orjson would read as a float where json.loads keeps it whole."""
    # Every digit made a 9, then one search: the regex `\d{19}` cost 100 µs on a batch
    # finish of 50 items (5 KB), more than decoding it; this costs 9.
    return _NINETEEN_DIGITS in text.translate(_DIGITS_AS_NINES)


def storable_problem(value: Any) -> str | None:
    """Why `value` (text, number, or JSON of them) cannot be stored; None when it can.
    Inside JSON the problem names where: `must not contain a NUL byte (at a.b[2])`."""
    # Nearly every value passes: checked first without naming the places it passes (those
    # names were two thirds of the walk of a batch of 50 finish items), walked to name one.
    return None if _storable(value) else _walk(value, "")


def _storable(value: Any) -> bool:
    """Whether _walk finds nothing in `value` (its rules, without the places)."""
    if type(value) is dict:  # JSON's objects, first: nothing else is one
        return _storable_mapping(value)
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Mapping):
        return _storable_mapping(value)
    if isinstance(value, list | tuple | set | frozenset):
        return _all_storable(value)
    return True


def _storable_mapping(value: Mapping[Any, Any]) -> bool:
    for key in value:
        if isinstance(key, str) and "\x00" in key:
            return False
    return _all_storable(value.values())


def _all_storable(items: Iterable[Any]) -> bool:
    for item in items:
        kind = type(item)
        if kind is str:  # the usual values, without a call
            if "\x00" in item:
                return False
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return False
        elif not _storable(item):
            return False
    return True


def _walk(value: Any, at: str) -> str | None:
    problem: str | None = None
    if isinstance(value, str):
        problem = NUL_PROBLEM if "\x00" in value else None
    elif isinstance(value, bool) or value is None:
        return None
    elif isinstance(value, int):
        problem = None if INT64_MIN <= value <= INT64_MAX else INT64_PROBLEM
    elif isinstance(value, float):
        problem = None if math.isfinite(value) else FLOAT_PROBLEM
    elif isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{at}.{key}" if at else str(key)
            if isinstance(key, str) and "\x00" in key:
                return _located(NUL_PROBLEM + " in a key", at or None)
            found = _walk(item, inner)
            if found:
                return found
        return None
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            found = _walk(item, f"{at}[{index}]")
            if found:
                return found
        return None
    return _located(problem, at or None) if problem else None


def _located(problem: str, at: str | None) -> str:
    if at is None:
        return problem
    shown = at.replace("\x00", "\\u0000")
    return f"{problem} (at {shown})"
