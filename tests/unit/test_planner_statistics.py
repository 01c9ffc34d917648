"""When the server asks for fresh planner statistics after bulk adds: past 1,000 tasks or 100
robots, one ANALYZE at a time, at most one per pause, and the last burst never dropped. (The
engine is a real SQLite file; SQLite runs ANALYZE too.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from robofleet.server.runtime.planner_statistics import (
    ROBOTS_THRESHOLD,
    ROWS_THRESHOLD,
    PlannerStatistics,
)


@pytest.fixture
def statistics(tmp_path: Path) -> Iterator[PlannerStatistics]:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE tasks (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("CREATE TABLE robots (id INTEGER PRIMARY KEY)")
    keeper = PlannerStatistics(engine, min_interval=0.3)
    keeper.start()
    yield keeper
    keeper.stop()
    engine.dispose()


def _until(keeper: PlannerStatistics, count: int) -> None:
    deadline = time.monotonic() + 10
    while keeper.analyzed < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert keeper.analyzed >= count


def test_analyzes_once_past_the_threshold_then_once_more_for_a_burst(
    statistics: PlannerStatistics,
) -> None:
    statistics.added(ROWS_THRESHOLD - 1)
    time.sleep(0.2)
    assert statistics.analyzed == 0  # below the threshold: nothing
    statistics.added(1)
    _until(statistics, 1)
    for _ in range(5):  # a burst during the pause: one more ANALYZE, after it
        statistics.added(ROWS_THRESHOLD)
    _until(statistics, 2)
    time.sleep(0.8)
    assert statistics.analyzed == 2


def test_robots_registered_one_by_one_are_counted_apart_from_tasks(
    statistics: PlannerStatistics,
) -> None:
    statistics.added(ROWS_THRESHOLD - 1)
    for _ in range(ROBOTS_THRESHOLD - 1):
        statistics.added(1, table="robots")
    time.sleep(0.2)
    assert statistics.analyzed == 0  # neither table past its own threshold
    statistics.added(1, table="robots")
    _until(statistics, 1)
    assert statistics.analyzed_tables == {"robots": 1}
    statistics.added(1)  # the tasks' count was kept meanwhile
    _until(statistics, 2)
    assert statistics.analyzed_tables == {"robots": 1, "tasks": 1}
