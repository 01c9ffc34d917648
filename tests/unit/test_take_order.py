"""The take order of New tasks: rank (priority, overdue first), then deadline, then age.
`take_rank` gives a task's rank when it is written; the scheduler's overdue promotion lowers a
stored rank by the same shift once the deadline passes (tests/service/test_task_rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from robofleet.server.db.tables.queues import NO_DEADLINE, rank_of
from robofleet.server.services.tasks.state import OVERDUE_SHIFT, take_rank

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LOW, NORMAL, HIGH = 1, 2, 3


def test_higher_priority_has_the_lower_rank() -> None:
    assert [rank_of(p) for p in (HIGH, NORMAL, LOW)] == [1, 2, 3]


def test_rank_without_a_passed_deadline_is_the_priority_rank() -> None:
    for priority in (LOW, NORMAL, HIGH):
        assert take_rank(priority, None, NOW) == rank_of(priority)
        assert take_rank(priority, NOW + timedelta(seconds=1), NOW) == rank_of(priority)


def test_a_deadline_at_or_before_now_is_overdue() -> None:
    for deadline in (NOW, NOW - timedelta(days=3)):
        assert [take_rank(p, deadline, NOW) for p in (HIGH, NORMAL, LOW)] == [-2, -1, 0]


def test_every_overdue_task_goes_before_every_other_and_keeps_its_priority_order() -> None:
    past = NOW - timedelta(minutes=1)
    overdue = [take_rank(p, past, NOW) for p in (HIGH, NORMAL, LOW)]
    on_time = [take_rank(p, None, NOW) for p in (HIGH, NORMAL, LOW)]
    assert overdue == sorted(overdue) and on_time == sorted(on_time)
    assert max(overdue) < min(on_time)
    assert [r + OVERDUE_SHIFT for r in overdue] == on_time


def test_no_deadline_sorts_after_every_real_deadline() -> None:
    assert NO_DEADLINE.tzinfo is not None
    assert datetime(9999, 12, 30, tzinfo=UTC) < NO_DEADLINE
    assert NOW + timedelta(days=365 * 1000) < NO_DEADLINE
