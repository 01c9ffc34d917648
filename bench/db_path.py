"""The database path of the robot's hottest requests: tasks/s one per call (take, then finish)
and the server's CPU per request, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.db_path [--tasks 3000] [--takers 8] [--stores sqlite,postgresql]
        [--profile DIR]   # also record a py-spy flame graph of the drain per store

Server CPU is the server process's user + system time over the drain, divided by the requests
it answered (two per task: a take and a finish).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from bench.common import Server, create_pg_database, drop_pg_database
from bench.queue_throughput import drain, preload


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    total = times.user + times.system
    for child in process.children(recursive=True):
        child_times = child.cpu_times()
        total += child_times.user + child_times.system
    return total


def run(store: str, tasks: int, takers: int, profile: Path | None) -> tuple[float, float]:
    """(tasks/s, server CPU ms per request) of one drain, one task per call."""
    url = create_pg_database() if store == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), database_url=url).start()
        try:
            queue = "bench-db-path"
            preload(server, queue, tasks)
            assert server.process is not None
            process = psutil.Process(server.process.pid)
            spy = None
            if profile is not None:
                profile.mkdir(parents=True, exist_ok=True)
                spy = subprocess.Popen(
                    [
                        str(Path(sys.executable).with_name("py-spy")),
                        "record",
                        "--pid",
                        str(server.process.pid),
                        "--rate",
                        "200",
                        "--format",
                        "speedscope",
                        "--output",
                        str(profile / f"{store}.speedscope.json"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            before = _cpu_seconds(process)
            done, meter, _ = drain(server, queue, takers, 1)
            elapsed = meter.seconds
            cpu = _cpu_seconds(process) - before
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
                spy.wait(timeout=60)
            assert done == tasks, f"{done} of {tasks} finished"
            return done / elapsed, cpu * 1000 / (2 * done)
        finally:
            server.stop()
            if url:
                drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--takers", type=int, default=8)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    print("| store | tasks/s (one per call) | server CPU per request |\n|---|---|---|")
    for store in args.stores.split(","):
        rate, cpu_ms = run(store, args.tasks, args.takers, args.profile)
        print(f"| {store} | {rate:,.0f} | {cpu_ms:.2f} ms |", flush=True)


if __name__ == "__main__":
    main()
