"""Queue throughput over HTTP: tasks taken and finished per second by N takers, one per call
and in batches, on SQLite and PostgreSQL, beside PgQueuer and procrastinate draining the same
number of no-op jobs on the same PostgreSQL.

    .venv/bin/python -m bench.queue_throughput [--tasks 5000] [--takers 8] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Client, Server, create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parent.parent


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


def drain(server: Server, queue: str, takers: int, batch: int) -> tuple[int, float]:
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.taker", server.url, server.key, queue, str(batch)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(takers)
    ]
    done = 0
    for proc in procs:
        out, _ = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"taker failed: {out}")
        done += int(out.split()[0])
    return done, time.perf_counter() - started


def robofleet(
    store: str,
    tasks: int,
    takers: int,
    batch: int,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> float:
    url = create_pg_database() if store == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), database_url=url, workers=workers, env=env or {}).start()
        try:
            queue = f"bench-{batch}"
            preload(server, queue, tasks)
            done, elapsed = drain(server, queue, takers, batch)
            assert done == tasks, f"{done} of {tasks} finished"
            return done / elapsed
        finally:
            server.stop()
            if url:
                drop_pg_database(url)


def peer(name: str, jobs: int, batch: int, workers: int) -> float:
    url = create_pg_database(f"bench_{name}")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bench.peers", name, url, str(jobs), str(batch), str(workers)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        ).stdout.split()
        return int(out[0]) / float(out[1])
    finally:
        drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--takers", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows: list[dict[str, object]] = []

    def add(system: str, store: str, batch: int, workers: str, rate: float) -> None:
        rows.append(
            {
                "system": system,
                "store": store,
                "batch": batch,
                "workers": workers,
                "tasks_per_s": round(rate),
            }
        )
        print(f"| {system} | {store} | {batch} | {workers} | {rate:,.0f} |", flush=True)

    print("| system | store | batch | takers | tasks/s |\n|---|---|---|---|---|", flush=True)
    for batch in (1, 50):
        add(
            "robofleet (HTTP)",
            "sqlite",
            batch,
            f"{args.takers} takers",
            robofleet("sqlite", args.tasks, args.takers, batch),
        )
        add(
            "robofleet (HTTP, synchronous=normal)",
            "sqlite",
            batch,
            f"{args.takers} takers",
            robofleet(
                "sqlite",
                args.tasks,
                args.takers,
                batch,
                env={"ROBOFLEET_SQLITE_SYNCHRONOUS": "normal"},
            ),
        )
        add(
            "robofleet (HTTP)",
            "postgresql",
            batch,
            f"{args.takers} takers",
            robofleet("postgresql", args.tasks, args.takers, batch),
        )
        add(
            "robofleet (HTTP, 2 workers)",
            "postgresql",
            batch,
            f"{args.takers} takers",
            robofleet("postgresql", args.tasks, args.takers, batch, workers=2),
        )
        add(
            "PgQueuer 1.6 (asyncpg)",
            "postgresql",
            batch,
            "4 consumers",
            peer("pgqueuer", args.tasks, batch, 4),
        )
    add(
        "procrastinate 3.10",
        "postgresql",
        1,
        "concurrency 8",
        peer("procrastinate", args.tasks, 1, 8),
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
