"""The abandon limit of a queue as a time: never an overflow, whatever the stored value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from robofleet.server.domain.tasks import abandon_cutoff

NOW = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)


def test_a_sane_limit_is_that_many_minutes_ago() -> None:
    assert abandon_cutoff(NOW, 30) == NOW - timedelta(minutes=30)
    assert abandon_cutoff(NOW, 0.5) == NOW - timedelta(seconds=30)


@pytest.mark.parametrize(
    "minutes",
    [None, 0, -5, float("nan"), float("inf"), float("-inf"), 1.1e9, 1e12, 1e300, "60", True],
)
def test_a_limit_that_abandons_nothing_is_none(minutes: object) -> None:
    assert abandon_cutoff(NOW, minutes) is None


def test_the_largest_limit_that_fits_the_calendar_still_works() -> None:
    minutes = (NOW - datetime(1, 1, 3, tzinfo=UTC)) / timedelta(minutes=1)
    cutoff = abandon_cutoff(NOW, minutes)
    assert cutoff is not None and cutoff.year == 1
