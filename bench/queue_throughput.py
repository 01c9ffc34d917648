"""Queue throughput over HTTP: tasks taken and finished per second by N takers, one per call
and in batches, on SQLite and PostgreSQL, beside PgQueuer and procrastinate draining the same
number of no-op jobs on the same PostgreSQL.

    .venv/bin/python -m bench.queue_throughput [--tasks 5000] [--takers N] [--repeat 1]
        [--store sqlite|postgresql|both] [--no-peers] [--variants] [--out FILE]

The clock starts when every taker process is connected and ready; the server's CPU over the
drain (user + system, psutil) divided by the tasks gives its CPU per task.

Each system drains at the concurrency that drained fastest for it at that batch size (and, for
Robofleet, on that store) in a sweep on this machine (BEST_TAKERS, BEST_CONSUMERS;
docs/benchmarks.md, 5 December, eighteenth session); `--takers N` runs Robofleet's rows with N
takers instead.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import (
    Client,
    Server,
    ServerMeter,
    create_pg_database,
    drop_pg_database,
    load_average,
    median_of,
)

ROOT = Path(__file__).resolve().parent.parent
BEST_TAKERS = {
    ("sqlite", 1): 128,
    ("sqlite", 50): 32,
    ("postgresql", 1): 128,
    ("postgresql", 50): 16,
}
"""Robofleet's taker processes per store and batch size (swept: 16 to 160 one per call, 8 to
32 in batches). SQLite's write lane commits the writes that arrive together in one
transaction, so it drains faster the more takers wait on it; PostgreSQL's lean pool runs 8
statements at once and the machine's two cores are busy from 16 takers on."""
BEST_CONSUMERS = {1: 8, 50: 4}
"""PgQueuer's consumers per batch size (swept: 4 to 64 one per call, 2 to 16 in batches);
procrastinate's concurrency is 8 (8, 16 and 32 drained alike)."""


def preload(server: Server, queue: str, tasks: int) -> None:
    client = Client(server.url, server.key)
    client.post("/api/queue/create", {"Name": queue})
    for start in range(0, tasks, 5000):
        size = min(5000, tasks - start)
        status, body = client.post(
            "/api/task/bulkCreate",
            {"Queue": queue, "Tasks": [{"Name": f"t{start + i}"} for i in range(size)]},
        )
        assert status == 200 and body["created"] == size, body


def drain(server: Server, queue: str, takers: int, batch: int) -> tuple[int, ServerMeter, float]:
    """Start the takers, wait until every one is connected and ready, then start the clock
    (and the server meter) and let them go: the interpreters' start-up is not timed. The
    tasks finished, the server's meter, and the CPU seconds the takers spent."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.taker", server.url, server.key, queue, str(batch)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(takers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        ready = proc.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"taker did not start: {ready!r}")
    done, client_cpu = 0, 0.0
    with ServerMeter(server) as meter:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, _ = proc.communicate(timeout=1800)
            if proc.returncode != 0:
                raise RuntimeError(f"taker failed: {out}")
            finished, _seconds, cpu = out.split()
            done += int(finished)
            client_cpu += float(cpu)
    return done, meter, client_cpu


def robofleet(
    store: str,
    tasks: int,
    takers: int,
    batch: int,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Tasks per second over HTTP, with the server's CPU per task (its take and finish
    requests) and peak RSS over the drain."""
    url = create_pg_database() if store == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), database_url=url, workers=workers, env=env or {}).start()
        try:
            queue = f"bench-{batch}"
            preload(server, queue, tasks)
            load = load_average()
            done, meter, client_cpu = drain(server, queue, takers, batch)
            assert done == tasks, f"{done} of {tasks} finished"
            return {
                "tasks_per_s": round(done / meter.seconds, 1),
                **meter.figures(done),
                "client_cpu_ms_per_task": round(client_cpu * 1000 / done, 3),
                "load_average": max(load, load_average()),
            }
        finally:
            server.stop()
            if url:
                drop_pg_database(url)


def peer(name: str, jobs: int, batch: int, workers: int) -> dict[str, Any]:
    """Jobs per second of a peer draining in-process; its CPU per job is the peer process's
    own (it is its own server), beside Robofleet's server CPU per task."""
    url = create_pg_database(f"bench_{name}")
    try:
        load = load_average()
        out = subprocess.run(
            [sys.executable, "-m", "bench.peers", name, url, str(jobs), str(batch), str(workers)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        ).stdout.split()
        done, seconds, cpu = int(out[0]), float(out[1]), float(out[2])
        return {
            "tasks_per_s": round(done / seconds, 1),
            "server_cpu_ms_per_op": round(cpu * 1000 / done, 3),
            "server_cpu_cores": round(cpu / seconds, 2),
            "server_peak_rss_mib": None,  # not a server: its RSS is not comparable
            "load_average": max(load, load_average()),
        }
    finally:
        drop_pg_database(url)


@dataclass(frozen=True)
class Case:
    """One row of the queue drain table."""

    system: str
    store: str
    batch: int
    takers: str
    measure: Callable[[], dict[str, Any]]


def cases(
    tasks: int, takers: int | None, stores: list[str], peers: bool, variants: bool
) -> list[Case]:
    """One per call and batch 50 on each store, the peers beside them on PostgreSQL.
    `variants` adds the older table's rows (SQLite synchronous=normal, 2 PostgreSQL workers)."""
    made: list[Case] = []
    # (store, row label, the server's extra options) for each robofleet row.
    servers: list[tuple[str, str, dict[str, Any]]] = []
    for store in ("sqlite", "postgresql"):
        if store in stores:
            servers.append((store, "robofleet (HTTP)", {}))
            if variants and store == "sqlite":
                servers.append(
                    (
                        store,
                        "robofleet (HTTP, synchronous=normal)",
                        {"env": {"ROBOFLEET_SQLITE_SYNCHRONOUS": "normal"}},
                    )
                )
            if variants and store == "postgresql":
                servers.append((store, "robofleet (HTTP, 2 workers)", {"workers": 2}))
    for batch in (1, 50):
        for store, label, options in servers:
            count = takers or BEST_TAKERS[store, batch]
            made.append(
                Case(
                    label,
                    store,
                    batch,
                    f"{count} takers",
                    partial(robofleet, store, tasks, count, batch, **options),
                )
            )
        if peers and "postgresql" in stores:
            consumers = BEST_CONSUMERS[batch]
            made.append(
                Case(
                    "PgQueuer (asyncpg, in-process)",
                    "postgresql",
                    batch,
                    f"{consumers} consumers",
                    partial(peer, "pgqueuer", tasks, batch, consumers),
                )
            )
    if "postgresql" in stores and peers:
        made.append(
            Case(
                "procrastinate (in-process)",
                "postgresql",
                1,
                "concurrency 8",
                partial(peer, "procrastinate", tasks, 1, 8),
            )
        )
    return made


def run(
    tasks: int, takers: int | None, stores: list[str], repeat: int, peers: bool, variants: bool
) -> list[dict[str, Any]]:
    """Every case `repeat` times; each row holds the medians and the runs' raw figures."""
    rows = []
    for case in cases(tasks, takers, stores, peers, variants):
        runs = [case.measure() for _ in range(repeat)]
        row = {
            "system": case.system,
            "store": case.store,
            "batch": case.batch,
            "takers": case.takers,
            **median_of(runs),
            "runs": runs,
        }
        print(json.dumps(row), file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--takers", type=int, help="Robofleet's takers (default: BEST_TAKERS)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    rows = run(args.tasks, args.takers, stores, args.repeat, not args.no_peers, args.variants)
    print("| system | store | batch | takers | tasks/s | server CPU ms/task | load |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['system']} | {row['store']} | {row['batch']} | {row['takers']} "
            f"| {row['tasks_per_s']:,.0f} | {row['server_cpu_ms_per_op']:.2f} "
            f"| {row['load_average']} |"
        )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
