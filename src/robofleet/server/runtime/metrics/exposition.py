"""Renders every metric of the server in Prometheus's text format, in one process or across
several worker processes.

One process: the default registry (the written families, plus prometheus-client's process,
platform and garbage-collector metrics). Several workers (`robofleet server --workers N`):
the command gives them one folder (`multiprocess_folder`) before they start, each worker's
values go to files there, and whichever worker answers a scrape merges all files
(prometheus-client's multiprocess mode). The status gauges are counted in the database by
the answering process either way."""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from pydantic import SecretStr

from robofleet.server.db.connection_slots import SlotUse
from robofleet.server.db.session import Database
from robofleet.server.domain.errors import Unauthenticated
from robofleet.server.runtime.metrics.pool import DriverPoolUse, PoolSampler, record_pool
from robofleet.server.runtime.metrics.processes import WorkerProcesses
from robofleet.server.runtime.metrics.status_gauges import StatusGauges

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def shared_folder() -> Path | None:
    """The multiprocess folder this process writes to, if any (prometheus-client decides by
    the same variable when it is imported)."""
    value = os.environ.get(MULTIPROCESS_VARIABLE)
    return Path(value) if value else None


@contextmanager
def multiprocess_folder() -> Iterator[Path]:
    """A folder for the metric files of the workers about to start, empty at their start:
    the one PROMETHEUS_MULTIPROC_DIR names (its old files deleted), else a new temporary one,
    removed again when the server stops."""
    given = shared_folder()
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        for old in given.glob("*.db"):
            old.unlink()
        yield given
        return
    made = Path(tempfile.mkdtemp(prefix="robofleet-metrics-"))
    os.environ[MULTIPROCESS_VARIABLE] = str(made)
    try:
        yield made
    finally:
        del os.environ[MULTIPROCESS_VARIABLE]
        shutil.rmtree(made, ignore_errors=True)


def check_token(expected: SecretStr | None, authorization: str | None) -> None:
    """With a metrics token set, the scrape must send `Authorization: Bearer <token>`."""
    if expected is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthenticated(
            "/metrics needs the metrics token: send 'Authorization: Bearer <token>' "
            "(ROBOFLEET_METRICS_TOKEN of the server)",
            reason="metrics_token_required",
        )
    if not hmac.compare_digest(given.strip().encode(), expected.get_secret_value().encode()):
        raise Unauthenticated(
            "the metrics token is not the one the server expects (ROBOFLEET_METRICS_TOKEN)",
            reason="metrics_token_invalid",
        )


def _no_driver_pool() -> SlotUse | None:
    return None


class MetricsExposition:
    def __init__(self, db: Database) -> None:
        self._engine = db.engine
        self.driver_pool_use: DriverPoolUse = _no_driver_pool
        """How the robot path's pool is used now: the app reads it from its runtime, whose
        pool (PostgreSQL) opens and closes with the app."""
        self._folder = shared_folder()
        self._sampler: PoolSampler | None = None
        # Counted at scrape time by the answering process, in either mode.
        self._counted = CollectorRegistry(auto_describe=False)
        self._counted.register(StatusGauges(db))
        if self._folder is None:
            self._written = REGISTRY
        else:
            self._written = CollectorRegistry(auto_describe=False)
            MultiProcessCollector(self._written, path=str(self._folder))  # type: ignore[no-untyped-call]
            self._counted.register(WorkerProcesses(self._folder))

    @property
    def multiprocess(self) -> bool:
        return self._folder is not None

    def start(self) -> None:
        if self._folder is not None:
            # Another worker answering a scrape cannot read this one's pool: copy it to the
            # shared files every second.
            self._sampler = PoolSampler(self._engine, lambda: self.driver_pool_use())
            self._sampler.start()

    def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.stop()
        if self._folder is not None:
            # A stopped worker's pool gauges leave the sums (counters and histograms stay).
            mark_process_dead(os.getpid(), str(self._folder))  # type: ignore[no-untyped-call]

    def render(self) -> bytes:
        record_pool(self._engine, self.driver_pool_use)
        return generate_latest(self._written) + generate_latest(self._counted)
