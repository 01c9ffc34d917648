"""A job's queue drain through the SDK: `take_each` with one task per call (batch=1) and with
its default batching, on SQLite and PostgreSQL, against one real server per store.

    .venv/bin/python -m bench.sdk_drain [--tasks 2000] [--store sqlite|postgresql|both]
        [--batch 1 --batch 10] [--repeat 1]

Each case drains its own preloaded queue in this process with `with task:` and an empty body
(the SDK's own calls are all that is timed), and reports tasks per second and the server's
CPU per task over the drain.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    Server,
    ServerMeter,
    create_pg_database,
    drop_pg_database,
    load_average,
    median_of,
)
from bench.queue_throughput import preload
from robofleet.contract import API_KEY_VARIABLE, JobEnv
from robofleet.sdk import queue


def drain(server: Server, name: str, batch: int) -> dict[str, Any]:
    os.environ[JobEnv.SERVER] = server.url
    os.environ[API_KEY_VARIABLE] = server.key
    load = load_average()
    done = 0
    with ServerMeter(server) as meter:
        started = time.perf_counter()
        for task in queue(name).take_each(batch=batch):
            with task:
                done += 1
        seconds = time.perf_counter() - started
    return {
        "tasks": done,
        "tasks_per_s": round(done / seconds, 1),
        **meter.figures(done),
        "load_average": max(load, load_average()),
    }


def store_rows(store: str, tasks: int, batches: list[int], repeat: int) -> list[dict[str, Any]]:
    url = create_pg_database() if store == "postgresql" else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), database_url=url).start()
        try:
            for batch in batches:
                runs = []
                for attempt in range(repeat):
                    name = f"sdk-{batch}-{attempt}"
                    preload(server, name, tasks)
                    run = drain(server, name, batch)
                    assert run["tasks"] == tasks, run
                    runs.append(run)
                row = {"store": store, "batch": batch, **median_of(runs), "runs": runs}
                print(json.dumps(row), file=sys.stderr, flush=True)
                rows.append(row)
        finally:
            server.stop()
            if url:
                drop_pg_database(url)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--batch", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    batches = args.batch or [1, 10]
    rows = [row for store in stores for row in store_rows(store, args.tasks, batches, args.repeat)]
    print("| store | batch | tasks/s | server CPU ms/task | load |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['store']} | {row['batch']} | {row['tasks_per_s']:,.0f} "
            f"| {row['server_cpu_ms_per_op']:.2f} | {row['load_average']} |"
        )


if __name__ == "__main__":
    main()
