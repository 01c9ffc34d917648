"""Use of the database connection pools (the engine's, and on PostgreSQL the robot path's
own, db.driver_pool), copied into gauges: at scrape time in the process that answers the
scrape, and every second by each worker in multiprocess mode (one worker cannot read another's
pool)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from robofleet.server.db.connection_slots import SlotUse
from robofleet.server.runtime.metrics.families import (
    DRIVER_POOL_CONNECTIONS,
    DRIVER_POOL_LIMIT,
    DRIVER_POOL_WAITERS,
    POOL_CONNECTIONS,
    POOL_LIMIT,
    POOL_WAITERS,
)

SAMPLE_SECONDS = 1.0


@dataclass(frozen=True)
class PoolReading:
    checked_out: int
    idle: int
    overflow: int
    limit: int
    waiters: int


def read_pool(engine: Engine) -> PoolReading | None:
    """The pool's state now; None for a pool that keeps no count (not a QueuePool)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    # QueuePool counts overflow from -size (connections the pool may still open): only a
    # positive value is connections opened beyond the pool size.
    return PoolReading(
        checked_out=pool.checkedout(),
        idle=pool.checkedin(),
        overflow=max(0, pool.overflow()),
        limit=pool.size() + max(0, pool._max_overflow),
        waiters=_waiters(pool),
    )


def _waiters(pool: QueuePool) -> int:
    """Threads blocked waiting for a connection. SQLAlchemy has no public count: this reads
    the condition its queue waits on, and reports 0 if a release changes that."""
    condition = getattr(pool._pool, "not_empty", None)
    waiting = getattr(condition, "_waiters", None)
    return len(waiting) if waiting is not None else 0


DriverPoolUse = Callable[[], SlotUse | None]
"""The robot path's pool's use now; None without one (SQLite, or not open yet)."""

NO_DRIVER_POOL = SlotUse(in_use=0, idle=0, max_size=0, waiting=0)


def record_pool(engine: Engine, driver_pool: DriverPoolUse) -> None:
    reading = read_pool(engine)
    if reading is not None:
        POOL_CONNECTIONS.labels("checked_out").set(reading.checked_out)
        POOL_CONNECTIONS.labels("idle").set(reading.idle)
        POOL_CONNECTIONS.labels("overflow").set(reading.overflow)
        POOL_LIMIT.set(reading.limit)
        POOL_WAITERS.set(reading.waiters)
    use = driver_pool() or NO_DRIVER_POOL
    DRIVER_POOL_CONNECTIONS.labels("in_use").set(use.in_use)
    DRIVER_POOL_CONNECTIONS.labels("idle").set(use.idle)
    DRIVER_POOL_LIMIT.set(use.max_size)
    DRIVER_POOL_WAITERS.set(use.waiting)


class PoolSampler:
    """Copies the pools' state into the gauges every second (multiprocess mode)."""

    def __init__(self, engine: Engine, driver_pool: DriverPoolUse) -> None:
        self._engine = engine
        self._driver_pool = driver_pool
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-pool", daemon=True)

    def start(self) -> None:
        record_pool(self._engine, self._driver_pool)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            record_pool(self._engine, self._driver_pool)
