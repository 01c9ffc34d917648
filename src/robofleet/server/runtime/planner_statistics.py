"""PostgreSQL's planner statistics of the tasks table, refreshed after bulk adds.

The take picks a queue's New tasks in take order through `ix_tasks_take`. Until PostgreSQL
has statistics that know a queue holds many New tasks (a new table, or thousands added at
once to a quiet queue), it estimates one row and may read the queue through
`ix_tasks_queue_status` instead, sorting every New task of the queue on every take: measured
with 40,000 tasks bulk-added and drained 50 at a time by 8 robots, 34 ms per take (median)
and the database at 1.5 cores, against 5,977 tasks/s after an ANALYZE (docs/benchmarks.md,
"Planner statistics after a bulk add"). Autovacuum's own ANALYZE comes only after a tenth
of the table changed and its next round (a minute), so the server asks for one itself, as
PostgreSQL's documentation advises after a large load: off the request path, at most one at
a time and one per `min_interval` seconds, the last request after a burst never dropped."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

log = logging.getLogger("robofleet.db.statistics")
ROWS_THRESHOLD = 1_000
"""Rows bulk-added since the last ANALYZE that call for another."""


class PlannerStatistics:
    def __init__(self, engine: Engine, *, min_interval: float = 10.0) -> None:
        self._engine = engine
        self._min_interval = min_interval
        self._pending = 0
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.analyzed = 0
        """ANALYZE runs completed (for tests and logs)."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="robofleet-analyze", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def added(self, rows: int) -> None:
        """`rows` tasks were just added in bulk (committed)."""
        with self._lock:
            self._pending += rows
            if self._pending < ROWS_THRESHOLD:
                return
            self._pending = 0
        self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            if self._stopping.is_set():
                return
            self._due.clear()
            self._analyze()
            # What is added meanwhile sets `_due` again: it is analysed after the pause.
            if self._stopping.wait(self._min_interval):
                return

    def _analyze(self) -> None:
        started = time.monotonic()
        try:
            with self._engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE tasks")
                connection.commit()
        except Exception:
            # Statistics only steer plans: a failure costs speed, never data.
            log.warning("ANALYZE tasks failed", exc_info=True)
            return
        self.analyzed += 1
        log.info("ANALYZE tasks after bulk adds: %.0f ms", (time.monotonic() - started) * 1000)
