"""JSON read back from PostgreSQL (db.stored_json) is what json.loads reads, every time."""

from __future__ import annotations

import json
import math

import pytest

from robofleet.server.db.stored_json import loads_stored

TEXTS = [
    '{"n": 1, "f": 1.5, "s": "été ✓", "l": [null, true, false], "o": {}}',
    '{"big": 123456789012345678901234567890}',  # orjson alone: a float
    '{"edge": 9223372036854775807, "below": -9223372036854775808}',
    '{"id": "1234567890123456789012"}',  # digits inside a text: json.loads all the same
    '{"lone": "\\ud800"}',  # orjson refuses a lone surrogate
    "[-0, -0.0, 1e-7, 0.1, 2.5e300]",
    '"just text"',
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_stored_value_reads_as_json_loads_reads_it(text: str) -> None:
    expected = json.loads(text)
    for given in (text, text.encode()):
        value = loads_stored(given)
        assert value == expected
        assert repr(value) == repr(expected)  # the same types: int stays int, -0.0 stays


def test_a_number_past_a_double_reads_as_infinity_as_json_loads_does() -> None:
    assert math.isinf(loads_stored(b"[1e400]")[0])
