"""PostgreSQL's planner statistics of the tasks and robots tables, refreshed after adds.

The take picks a queue's New tasks in take order through `ix_tasks_take`. Until PostgreSQL
has statistics that know a queue holds many New tasks (a new table, or thousands added at
once to a quiet queue), it estimates one row and may read the queue through
`ix_tasks_queue_status` instead, sorting every New task of the queue on every take: measured
with 40,000 tasks bulk-added and drained 50 at a time by 8 robots, 34 ms per take (median)
and the database at 1.5 cores, against 5,977 tasks/s after an ANALYZE (docs/benchmarks.md,
"Planner statistics after a bulk add"). Autovacuum's own ANALYZE comes only after a tenth
of the table changed and its next round (a minute), so the server asks for one itself, as
PostgreSQL's documentation advises after a large load: off the request path, at most one at
a time and one per `min_interval` seconds, the last request after a burst never dropped.

The robots table too, once a fleet is registered: without statistics PostgreSQL took a
heartbeat's `id = ? AND account_id = ?` through `ix_robots_account_id`, reading every robot of
the account (0.75 ms a heartbeat at 2,500 robots, against 0.09 ms, its row read by the primary
key, after an ANALYZE; docs/benchmarks.md, "Statistics for a fleet registered at once")."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Literal

from sqlalchemy import Engine

log = logging.getLogger("robofleet.db.statistics")
ROWS_THRESHOLD = 1_000
"""Tasks bulk-added since the last ANALYZE of the table that call for another."""
ROBOTS_THRESHOLD = 100
"""Robots registered since the last ANALYZE of theirs that call for another (a small table:
its ANALYZE costs a few milliseconds)."""
AnalyzedTable = Literal["tasks", "robots"]
THRESHOLDS: dict[AnalyzedTable, int] = {"tasks": ROWS_THRESHOLD, "robots": ROBOTS_THRESHOLD}


class PlannerStatistics:
    def __init__(self, engine: Engine, *, min_interval: float = 10.0) -> None:
        self._engine = engine
        self._min_interval = min_interval
        self._pending = dict.fromkeys(THRESHOLDS, 0)
        self._due_tables: set[AnalyzedTable] = set()
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.analyzed_tables: Counter[AnalyzedTable] = Counter()
        """ANALYZE statements completed, by table (for tests)."""

    @property
    def analyzed(self) -> int:
        """ANALYZE statements completed, of any table."""
        return sum(self.analyzed_tables.values())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="robofleet-analyze", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def added(self, rows: int, table: AnalyzedTable = "tasks") -> None:
        """`rows` rows of `table` were just added (committed)."""
        with self._lock:
            self._pending[table] += rows
            if self._pending[table] < THRESHOLDS[table]:
                return
            self._pending[table] = 0
            self._due_tables.add(table)
        self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            if self._stopping.is_set():
                return
            self._due.clear()
            with self._lock:
                tables, self._due_tables = self._due_tables, set()
            for table in sorted(tables):
                self._analyze(table)
            # What is added meanwhile sets `_due` again: it is analysed after the pause.
            if self._stopping.wait(self._min_interval):
                return

    def _analyze(self, table: AnalyzedTable) -> None:
        started = time.monotonic()
        try:
            with self._engine.connect() as connection:
                # One of AnalyzedTable's names, never a request's.
                connection.exec_driver_sql(f"ANALYZE {table}")
                connection.commit()
        except Exception:
            # Statistics only steer plans: a failure costs speed, never data.
            log.warning("ANALYZE %s failed", table, exc_info=True)
            return
        self.analyzed_tables[table] += 1
        log.info("ANALYZE %s after adds: %.0f ms", table, (time.monotonic() - started) * 1000)


def note_added(
    statistics: PlannerStatistics | None, rows: int, table: AnalyzedTable = "tasks"
) -> None:
    """`rows` rows of `table` committed: tasks a bulk add stored, or a robot registered. Where
    the store keeps no statistics of its own to refresh (`statistics` None: SQLite), nothing."""
    if statistics is not None and rows:
        statistics.added(rows, table)
