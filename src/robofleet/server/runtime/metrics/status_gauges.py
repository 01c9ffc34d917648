"""Jobs, tasks and robots by status, counted in the database when Prometheus scrapes.

The counts are kept for a few seconds, so several Prometheus servers (or a tight scrape
interval) do not run the GROUP BY queries more often than that. Status labels are Sherpa's
names ("In Progress", "Failed (Business)"), not the numbers."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from robofleet.contract import JobStatus, RobotStatus, TaskStatus
from robofleet.server.db.session import Database
from robofleet.server.db.status_counts import (
    StatusCount,
    job_counts,
    robot_counts,
    task_counts,
)

log = logging.getLogger("robofleet.metrics")
CACHE_SECONDS = 3.0


class _Labelled(Protocol):
    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class Snapshot:
    jobs: list[StatusCount]
    tasks: list[StatusCount]
    robots: list[StatusCount]
    taken_at: float
    """time.monotonic() when the counts were read."""


def status_label(kind: type[IntEnum], code: int) -> str:
    """The status's word; an unknown code (a newer server's) as its number."""
    try:
        member: _Labelled = kind(code)  # type: ignore[assignment]
    except ValueError:
        return str(code)
    return member.label


def by_status(
    counts: Iterable[StatusCount], kind: type[IntEnum]
) -> dict[tuple[str, str], dict[str, int]]:
    """Counts per (account, owner), with every status of `kind` present (0 where none), so a
    series drops to 0 instead of vanishing when its last row moves on."""
    grouped: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {status_label(kind, member): 0 for member in kind}
    )
    for row in counts:
        statuses = grouped[(row.account, row.owner)]
        if row.status is None:
            continue
        label = status_label(kind, row.status)
        # Two soft-deleted processes may share a name: their series add up.
        statuses[label] = statuses.get(label, 0) + row.count
    return grouped


class StatusGauges(Collector):
    def __init__(self, db: Database, cache_seconds: float = CACHE_SECONDS) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without this, registering the collector would run the queries once.
        return iter(self._families(None))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families(self.snapshot()))

    def snapshot(self) -> Snapshot | None:
        """The counts, read again when older than the cache time; on a database error the
        last counts (their age says how stale), or None if there were none yet."""
        with self._lock:
            now = time.monotonic()
            current = self._snapshot
            if current is not None and now - current.taken_at < self._cache_seconds:
                return current
            try:
                with self._db.read() as session:
                    current = Snapshot(
                        jobs=job_counts(session),
                        tasks=task_counts(session),
                        robots=robot_counts(session),
                        taken_at=time.monotonic(),
                    )
            except Exception as exc:  # a scrape reports what it has, never a 500
                log.warning("metrics: could not count statuses in the database: %s", exc)
                return self._snapshot
            self._snapshot = current
            return current

    def _families(self, snapshot: Snapshot | None) -> Sequence[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "robofleet_jobs",
            "Jobs by account, process and status (deleted jobs left out).",
            labels=["account", "process", "status"],
        )
        tasks = GaugeMetricFamily(
            "robofleet_tasks",
            "Tasks by account, queue and status.",
            labels=["account", "queue", "status"],
        )
        robots = GaugeMetricFamily(
            "robofleet_robots",
            "Robots by account and status (deleted robots left out).",
            labels=["account", "status"],
        )
        age = GaugeMetricFamily(
            "robofleet_status_counts_age_seconds",
            "How old the job, task and robot counts are (they are kept a few seconds).",
        )
        if snapshot is None:
            return [jobs, tasks, robots, age]
        for family, counts, kind in (
            (jobs, snapshot.jobs, JobStatus),
            (tasks, snapshot.tasks, TaskStatus),
        ):
            for (account, owner), statuses in by_status(counts, kind).items():
                for status, count in statuses.items():
                    family.add_metric([account, owner, status], count)
        for (account, _), statuses in by_status(snapshot.robots, RobotStatus).items():
            for status, count in statuses.items():
                robots.add_metric([account, status], count)
        age.add_metric([], time.monotonic() - snapshot.taken_at)
        return [jobs, tasks, robots, age]
