"""The pure parts of the job rules: limits and counters (month in the trigger's zone), the
queue condition's defaults, and the fire keys of schedule times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from robofleet.server.db.tables import TriggerRow
from robofleet.server.services.triggers.default_task import QueueCondition
from robofleet.server.services.triggers.due import fire_key
from robofleet.server.services.triggers.rules import Skip, check_limits, count_run, month_of


def trigger(**columns: object) -> TriggerRow:
    values: dict[str, object] = {
        "time_zone": "UTC",
        "status": 1,
        "runs": 0,
        "month_runs": 0,
        "month": "",
        "max_runs": 0,
        "max_monthly_runs": 0,
    }
    values.update(columns)
    return TriggerRow(**values)


def test_the_month_is_the_triggers_local_month() -> None:
    end_of_march = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)
    assert month_of(trigger(), end_of_march) == "2026-03"
    assert month_of(trigger(time_zone="Europe/Moscow"), end_of_march) == "2026-04"
    assert month_of(trigger(time_zone="America/New_York"), datetime(2026, 4, 1, 3, tzinfo=UTC)) == (
        "2026-03"
    )


def test_monthly_runs_start_again_in_a_new_month() -> None:
    row = trigger(max_monthly_runs=2)
    march = datetime(2026, 3, 5, tzinfo=UTC)
    for _ in range(2):
        check_limits(row, march)
        count_run(row, march)
    with pytest.raises(Skip, match="max monthly runs 2 reached in 2026-03"):
        check_limits(row, march)
    april = march + timedelta(days=30)
    check_limits(row, april)
    count_run(row, april)
    assert (row.month, row.month_runs, row.runs) == ("2026-04", 1, 3)


def test_reaching_max_runs_completes_the_trigger() -> None:
    row = trigger(max_runs=1, next_fire_at=datetime(2026, 1, 1, tzinfo=UTC))
    now = datetime(2025, 12, 31, tzinfo=UTC)
    check_limits(row, now)
    count_run(row, now)
    assert (row.status, row.next_fire_at, row.last_fire_at) == (2, None, now)
    with pytest.raises(Skip, match="max runs 1 reached"):
        check_limits(row, now)


def test_a_queue_condition_fills_its_defaults_and_bounds() -> None:
    assert QueueCondition.of(None) == QueueCondition()
    condition = QueueCondition.of({"tags": ["a"], "tasks_per_job": 0, "min_new_tasks": -3})
    assert (condition.tags, condition.tasks_per_job, condition.min_new_tasks) == (("a",), 1, 0)
    assert (condition.take_status, condition.default_task) == ("InProgress", True)


def test_a_schedule_fire_key_is_the_utc_second() -> None:
    local = datetime(2026, 3, 29, 3, 30, 15, 999, tzinfo=timezone(timedelta(hours=2)))
    assert fire_key(local) == "at:2026-03-29T01:30:15"
    assert len(fire_key(local)) <= 64
