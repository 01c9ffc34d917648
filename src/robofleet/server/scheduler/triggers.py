"""The trigger clock: a thread of its own beside the scheduler's duties, because a fire must
come within a second of its time and the duties run every few.

While this node leads (the scheduler's lease), it sleeps until the earliest next_fire_at (at
most POLL_SECONDS, so a trigger created or changed meanwhile is seen soon), or until tasks
arrive in a watched queue (runtime.arrivals: NOTIFY on PostgreSQL). Each pass fires the due
triggers in priority order, looks at the queues tasks arrived in, starts idle continuous
triggers every second and re-checks every queue condition every SAFETY_SECONDS (tasks that
became New again without an add: retries, released postponements).

Every node, leader or not, keeps runtime.task_arrivals.watched current, so task adds on any
node announce the queues the leader watches: through this clock where the scheduler runs, and
through a WatchedQueues thread on a node that runs none (ROBOFLEET_SCHEDULER_ENABLED=false).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING

from robofleet.server.db.base import utcnow
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.metrics.families import DUTY_FAILURES, DUTY_SECONDS
from robofleet.server.services.scheduled import Owner
from robofleet.server.services.triggers.continuous import fire_continuous, idle_continuous
from robofleet.server.services.triggers.due import (
    BATCH,
    due_triggers,
    earliest_fire,
    fire_due,
    fire_due_batch,
)
from robofleet.server.services.triggers.queue_watch import (
    check_queue,
    queue_triggers,
    watched_queues,
)

if TYPE_CHECKING:
    from robofleet.server.scheduler.loop import FailureLog

log = logging.getLogger("robofleet.scheduler.triggers")

POLL_SECONDS = 0.5
FIRE_THREADS = 3
CONTINUOUS_SECONDS = 1.0
SAFETY_SECONDS = 5.0
WATCH_SECONDS = 2.0
TRIGGER_DUTY = "fire triggers"
"""The duty label of one pass of the clock (robofleet_scheduler_duty_duration_seconds)."""


class TriggerClock:
    def __init__(
        self, runtime: Runtime, leads: Callable[[datetime], bool], failures: FailureLog
    ) -> None:
        self.runtime = runtime
        self.leads = leads
        self.failures = failures
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._arrived: set[int] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name="trigger-clock", daemon=True)
        self._due = {"continuous": 0.0, "safety": 0.0, "watch": 0.0}

    def start(self) -> None:
        if self.runtime.task_arrivals is not None:
            self._unsubscribe = self.runtime.task_arrivals.subscribe(self._on_arrival)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._thread.join(timeout=10)

    def _guarded(
        self,
        step: str,
        action: Callable[[Runtime, int, datetime], object],
        trigger_id: int,
        now: datetime,
    ) -> None:
        """One trigger's failure is logged once (FailureLog) and stops no other trigger."""
        owner = Owner(trigger_id, f"trigger id {trigger_id}")
        try:
            action(self.runtime, trigger_id, now)
        except Exception as exc:
            self.failures.failed(step, owner, exc)
        else:
            self.failures.succeeded(step, owner)

    def _on_arrival(self, queue_id: int) -> None:
        with self._lock:
            self._arrived.add(queue_id)
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pause = self.step()
            except Exception:
                DUTY_FAILURES.labels(TRIGGER_DUTY).inc()
                log.exception("trigger clock pass failed")
                pause = 1.0
            self._wake.wait(pause)
            # Cleared before the arrivals are read (in the next step): an arrival after this
            # point sets it again, so none is slept through.
            self._wake.clear()

    def _every(self, name: str, seconds: float) -> bool:
        clock = time.monotonic()
        if clock < self._due[name]:
            return False
        self._due[name] = clock + seconds
        return True

    def step(self) -> float:
        """One pass at the current time; returns how long to sleep."""
        if self._every("watch", WATCH_SECONDS) and self.runtime.task_arrivals is not None:
            try:
                self._refresh_watched()
            except Exception as exc:
                self.failures.failed("watch queues", None, exc)
            else:
                self.failures.succeeded("watch queues", None)
        now = utcnow()
        if not self.leads(now):
            with self._lock:
                self._arrived.clear()  # the leader hears them too
            return POLL_SECONDS
        started = time.perf_counter()
        try:
            self.run_pass(now)
        finally:
            DUTY_SECONDS.labels(TRIGGER_DUTY).observe(time.perf_counter() - started)
        return self._pause()

    def _refresh_watched(self) -> None:
        assert self.runtime.task_arrivals is not None
        self.runtime.task_arrivals.watched = watched_queues(self.runtime)

    def run_pass(self, now: datetime) -> None:
        with self._lock:
            arrived, self._arrived = self._arrived, set()
        if arrived:
            self._check_queues(arrived)
        self._fire_due(due_triggers(self.runtime, now), now)
        if self._every("continuous", CONTINUOUS_SECONDS):
            for trigger_id in idle_continuous(self.runtime):
                self._guarded("start continuous trigger", fire_continuous, trigger_id, utcnow())
        if self._every("safety", SAFETY_SECONDS):
            self._check_queues(None)

    def _fire_due(self, due: list[tuple[int, int]], now: datetime) -> None:
        """Fire (trigger id, priority) pairs in batches: one priority after the other, so a
        higher one's jobs come first; within one, FIRE_THREADS batches at a time on
        PostgreSQL (SQLite has one writer: one batch at a time)."""
        threads = 1 if self.runtime.db.dialect.single_writer else FIRE_THREADS
        for _, group in groupby(due, key=lambda pair: pair[1]):
            ids = [trigger_id for trigger_id, _ in group]
            batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
            if threads == 1 or len(batches) == 1:
                for batch in batches:
                    self._fire_batch(batch, now)
                continue
            with ThreadPoolExecutor(threads, thread_name_prefix="trigger-fire") as pool:
                list(pool.map(lambda batch: self._fire_batch(batch, now), batches))

    def _fire_batch(self, batch: list[int], now: datetime) -> None:
        try:
            fire_due_batch(self.runtime, batch, now)
        except Exception:
            # Each alone: the failing trigger is logged (once) and the others fire.
            for trigger_id in batch:
                self._guarded("fire due trigger", fire_due, trigger_id, now)

    def _check_queues(self, queue_ids: set[int] | None) -> None:
        for trigger_id in queue_triggers(self.runtime, queue_ids):
            self._guarded("check queue condition", check_queue, trigger_id, utcnow())

    def _pause(self) -> float:
        earliest = earliest_fire(self.runtime)
        if earliest is None:
            return POLL_SECONDS
        return max(0.0, min(POLL_SECONDS, (earliest - utcnow()).total_seconds()))


class WatchedQueues:
    """On a node without a scheduler: keeps runtime.task_arrivals.watched current, so the
    tasks added through this node still wake the leader's trigger clock on another."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watched-queues", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        arrivals = self.runtime.task_arrivals
        assert arrivals is not None
        while not self._stop.is_set():
            try:
                arrivals.watched = watched_queues(self.runtime)
            except Exception:
                log.exception("could not read the watched queues")
            self._stop.wait(WATCH_SECONDS)
