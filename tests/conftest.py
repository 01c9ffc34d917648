"""The three tiers, marked by folder so `-m unit`, `-m service` and `-m acceptance` select
them: unit (pure functions), service (the app in-process on a temporary SQLite file) and
acceptance (real server and agent processes over HTTP, on both stores)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
TIERS = ("unit", "service", "acceptance")

# Settings come from ROBOFLEET_* variables; a developer's own must not leak into any tier.
# ROBOFLEET_TEST_* configure the tests themselves (tests/support/pg.py) and stay.
for _name in [k for k in os.environ if k.startswith("ROBOFLEET_")]:
    if not _name.startswith("ROBOFLEET_TEST_"):
        del os.environ[_name]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.relative_to(TESTS).parts[0]
        if tier in TIERS:
            item.add_marker(tier)
    # The longest scenarios first: xdist hands tests out in this order, so they run beside the
    # many short ones instead of alone at the end of the run (stable sort: the rest keep
    # their order).
    items.sort(key=_start_order)


def _start_order(item: pytest.Item) -> int:
    if item.get_closest_marker("fuzz"):
        return 0  # Schemathesis: minutes per store, the longest of all
    return 1 if item.get_closest_marker("slow") else 2
