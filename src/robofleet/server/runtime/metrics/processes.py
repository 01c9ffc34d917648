"""CPU and memory of every worker process, for multiprocess mode: prometheus-client's own
process collector sees only the process that answers the scrape. The workers are the
processes that have written metrics (a `<kind>_<pid>.db` file in the metrics folder) and
still run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


def worker_pids(folder: Path) -> list[int]:
    pids: set[int] = set()
    for file in folder.glob("*.db"):
        tail = file.stem.rpartition("_")[2]
        if tail.isdigit():
            pids.add(int(tail))
    return sorted(pid for pid in pids if psutil.pid_exists(pid))


class WorkerProcesses(Collector):
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        cpu, memory, started, fds = self._families()
        for pid in worker_pids(self._folder):
            try:
                process = psutil.Process(pid)
                with process.oneshot():
                    times = process.cpu_times()
                    rss = process.memory_info().rss
                    created = process.create_time()
                    files = process.num_fds() if hasattr(process, "num_fds") else None
            except psutil.Error:
                continue  # ended since the glob
            label = [str(pid)]
            cpu.add_metric(label, times.user + times.system)
            memory.add_metric(label, rss)
            started.add_metric(label, created)
            if files is not None:
                fds.add_metric(label, files)
        return iter([cpu, memory, started, fds])

    @staticmethod
    def _families() -> tuple[
        CounterMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily
    ]:
        return (
            CounterMetricFamily(
                "process_cpu_seconds",
                "User and system CPU time of each worker process, in seconds.",
                labels=["pid"],
            ),
            GaugeMetricFamily(
                "process_resident_memory_bytes",
                "Resident memory of each worker process, in bytes.",
                labels=["pid"],
            ),
            GaugeMetricFamily(
                "process_start_time_seconds",
                "Start time of each worker process since the Unix epoch, in seconds.",
                labels=["pid"],
            ),
            GaugeMetricFamily(
                "process_open_fds",
                "Open file descriptors of each worker process.",
                labels=["pid"],
            ),
        )
