"""domain.values' two quick judgements agree with the slow ones they stand for: 19 digits
in a row are found where the regex `\\d{19}` finds them, and a value is storable exactly
when the walk that names a problem's place finds none (and then it names the same one)."""

from __future__ import annotations

import math
import random
import re
from collections import OrderedDict
from typing import Any

import pytest

from robofleet.server.domain.values import (
    INT64_MAX,
    INT64_MIN,
    _walk,
    maybe_past_int64,
    storable_problem,
)


def test_nineteen_digits_in_a_row_are_found_where_the_regex_finds_them() -> None:
    regex = re.compile(rb"\d{19}")
    rng = random.Random(19)
    alphabet = b'0123456789-. e"\\u'
    texts = [b"", b"1" * 18, b"1" * 19, b"-9223372036854775808", b"x" + b"9" * 19 + b"x"]
    texts += [bytes(rng.choice(alphabet) for _ in range(rng.randrange(60))) for _ in range(3000)]
    texts += [b"0123456789" * n for n in range(1, 4)]
    assert any(regex.search(text) for text in texts[5:])
    for text in texts:
        assert maybe_past_int64(text) == bool(regex.search(text)), text


LEAVES: list[Any] = [
    "plain",
    "a\x00b",
    INT64_MAX,
    INT64_MIN - 1,
    INT64_MAX + 1,
    1.5,
    math.nan,
    -math.inf,
    True,
    None,
    b"bytes",
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(6) if depth < 3 else 0
    if kind <= 1:
        return rng.choice(LEAVES)
    items = [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 2:
        return items
    if kind == 3:
        return tuple(items)
    keys = [rng.choice(["k", "k\x00", "other", "x"]) + str(n) for n in range(len(items))]
    return (
        dict(zip(keys, items, strict=True))
        if kind == 4
        else OrderedDict(zip(keys, items, strict=True))
    )


@pytest.mark.parametrize("seed", range(20))
def test_a_value_is_storable_exactly_when_the_walk_finds_no_problem(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        value = _value(rng)
        assert storable_problem(value) == _walk(value, "")


def test_what_robots_send_is_storable_and_a_problem_is_named_where_it_is() -> None:
    items = [{"Guid": "5f0c7a52-3b1e-4c2d-9a8f-0123456789ab", "LeaseId": "l", "Status": 2}] * 50
    assert storable_problem({"Items": items}) is None
    broken = [*items[:3], {"Guid": "g", "LeaseId": "l\x00", "Status": 2}]
    assert storable_problem({"Items": broken}) == (
        "must not contain a NUL byte (\\u0000) (at Items[3].LeaseId)"
    )
