"""Fleet: N simulated robots against one server process, in steps of N, on SQLite and
PostgreSQL; the largest N held with p99 under 100 ms.

Each robot, per minute (UiPath's sizing load): 2 heartbeats, 40 log lines in 6 batches (the
lines a task's work prints, collected by the agent's 1 s flush), 6 task adds, 6 takes and a
finish for each task taken (`--work` seconds after the take), 6 reads of a text resource. The
robots share `--queues` queues. The load comes from `--generators` processes
(bench/fleet_load.py), each an asyncio loop with keep-alive connections per robot.

Per step: p50/p99 latency per kind of operation, the operations achieved per second against
those offered, the server's CPU (cores, and ms per operation) and peak RSS, the load
generator's own CPU and how late it started operations (its health), and the load average.
A step is held when p99 over all operations is under 100 ms, no operation failed and at least
95 % of the offered operations were answered.

    .venv/bin/python -m bench.fleet [--robots 100,250,500,1000] [--duration 30] \
        [--store sqlite|postgresql|both] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from bench.common import (
    Client,
    Server,
    ServerMeter,
    cpu_of,
    create_pg_database,
    drop_pg_database,
    load_average,
    percentile,
)
from bench.fleet_load import WINDOW_SECONDS

ROOT = Path(__file__).resolve().parent.parent
RATES = {"heartbeat": 2, "log": 6, "add": 6, "take": 6, "read": 6}  # per robot per minute
LOG_LINES = 40  # per robot per minute
HELD_P99_MS = 100.0
RESOURCE = "fleet-setting"
STEPS = (100, 250, 500, 1000, 2000, 3000, 4000)


def create_robots(server: Server, count: int) -> list[str]:
    def make(chunk: range) -> list[str]:
        client = Client(server.url, server.key)
        made = []
        for n in chunk:
            status, robot = client.post("/api/robot/create", {"Name": f"fleet-{n}"})
            assert status == 200, robot
            made.append(str(robot["GUID"]))
        return made

    chunks = [range(start, min(count, start + 250)) for start in range(0, count, 250)]
    with ThreadPoolExecutor(4) as pool:
        return [guid for part in pool.map(make, chunks) for guid in part]


def prepare(
    server: Server, robots: int, queues: int, seed_tasks: int
) -> tuple[list[str], list[str]]:
    """Robots, queues seeded with tasks (takes find work from the first second), the resource."""
    client = Client(server.url, server.key)
    names = [f"fleet-q{n}" for n in range(queues)]
    for name in names:
        status, body = client.post("/api/queue/create", {"Name": name})
        assert status == 200, body
        if seed_tasks:
            status, body = client.post(
                "/api/task/bulkCreate",
                {"Queue": name, "Tasks": [{"Name": f"seed-{i}"} for i in range(seed_tasks)]},
            )
            assert status == 200, body
    status, body = client.post(
        "/api/asset/create", {"Name": RESOURCE, "Type": 2, "Text": "https://erp.example/api"}
    )
    assert status == 200, body
    return create_robots(server, robots), names


def step(
    server: Server, robots: list[str], queues: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    generators = args.generators or max(1, min(4, math.ceil(len(robots) / 1000)))
    config = {
        "url": server.url,
        "queues": queues,
        "resource": RESOURCE,
        "rates": RATES,
        "log_lines": LOG_LINES,
        "work": args.work,
        "warm_up": args.warm_up,
        "duration": args.duration,
        "inflight": args.inflight,
    }
    procs = []
    for n in range(generators):
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.fleet_load"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({**config, "robots": robots[n::generators], "seed": n}) + "\n")
        proc.stdin.flush()
        procs.append(proc)
    for proc in procs:  # every generator has built its schedule before the clock starts
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    load_before = load_average()
    go = time.time() + 0.5
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"go {go}\n")
        proc.stdin.flush()
    time.sleep(max(0.0, go - time.time()))
    with ServerMeter(server, postgres=server.database_url is not None) as meter:
        time.sleep(args.warm_up + args.duration)
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            results.append(json.loads(out.strip().splitlines()[-1]))
    return summarise(len(robots), generators, results, meter, args, load_before)


def summarise(
    robots: int,
    generators: int,
    results: list[dict[str, Any]],
    meter: ServerMeter,
    args: argparse.Namespace,
    load_before: float,
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {}
    for result in results:
        for kind, values in result["latencies"].items():
            latencies.setdefault(kind, []).extend(values)
    every = [v for values in latencies.values() for v in values]
    errors: dict[str, int] = {}
    for result in results:
        for kind, count in result["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    offered = sum(r["offered"] for r in results)
    done = sum(r["done"] for r in results)  # answered; the unfinished are not in it
    late = [v for r in results for v in r["late_ms"]]
    by_window: dict[int, list[float]] = {}
    for result in results:
        for n, values in result["windows"].items():
            by_window.setdefault(int(n), []).extend(values)
    window = meter.seconds
    row: dict[str, Any] = {
        "robots": robots,
        "offered_ops_per_s": round(offered / args.duration, 1),
        "achieved_ops_per_s": round(done / args.duration, 1),
        "p50_ms": round(percentile(every, 50), 1),
        "p99_ms": round(percentile(every, 99), 1),
        **{
            f"{kind}_p{q}_ms": round(percentile(latencies.get(kind, []), q), 1)
            for kind in ("heartbeat", "log", "add", "take", "finish", "read")
            for q in (50, 99)
        },
        **meter.figures(sum(r["done_all"] for r in results)),
        "generator_cpu_cores": round(sum(r["cpu_seconds"] for r in results) / window, 2),
        "generators": generators,
        "generator_late_p99_ms": round(percentile(late, 99), 1),
        "errors": sum(errors.values()),
        "unfinished": len(latencies.get("unfinished", [])),
        "empty_takes": sum(r["empty_takes"] for r in results),
        "log_lines_per_s": round(sum(r["log_lines"] for r in results) / args.duration, 1),
        "load_average": max(load_before, load_average()),
        # From the start, warm-up included: the first windows show the fleet's first contact.
        f"p99_ms_per_{WINDOW_SECONDS:g}_s": [
            round(percentile(by_window[n], 99), 1) for n in sorted(by_window)
        ],
    }
    row["held"] = bool(
        row["p99_ms"] < HELD_P99_MS and not errors and done >= 0.95 * offered and offered
    )
    if errors:
        row["first_error"] = next(r["first_error"] for r in results if r["first_error"])
    return row


def settle(server: Server, limit: float = 120.0) -> None:
    """Until the server is idle (under 0.1 core over a second): after a saturated step it is
    still working through requests whose clients have gone, which would load the next step."""
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    deadline = time.monotonic() + limit
    time.sleep(2)
    while time.monotonic() < deadline:
        before = cpu_of([process])
        time.sleep(1)
        if cpu_of([process]) - before < 0.1:
            return


def run(store: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every step of N on one server process; stops after the first step not held (unless
    --all-steps). Returns the steps and the largest N held."""
    url = create_pg_database() if store == "postgresql" else None
    steps = sorted(args.robots)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {"ROBOFLEET_LOG_LINES_PER_SECOND_PER_ROBOT": "0"}
        workers = args.workers if store == "postgresql" else 1  # several need PostgreSQL
        server = Server(Path(tmp) / "server", database_url=url, workers=workers, env=env)
        server.start()
        try:
            robots, queues = prepare(server, steps[-1], args.queues, args.seed_tasks)
            for count in steps:
                row = {"store": store, **step(server, robots[:count], queues, args)}
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                if not row["held"] and not args.all_steps:
                    break
                if count != steps[-1]:
                    settle(server)
        finally:
            server.stop()
            if url:
                drop_pg_database(url)
    held = [r["robots"] for r in rows if r["held"]]
    return {
        "store": store,
        "workers": workers,
        "largest_held": max(held) if held else 0,
        "steps": rows,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--robots",
        type=lambda text: [int(n) for n in text.split(",")],
        default=list(STEPS),
        help="steps of N robots, comma-separated",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per step")
    parser.add_argument("--warm-up", type=float, default=5.0, help="unmeasured seconds first")
    parser.add_argument("--queues", type=int, default=10)
    parser.add_argument("--seed-tasks", type=int, default=200, help="per queue, before the run")
    parser.add_argument("--work", type=float, default=1.0, help="seconds from take to finish")
    parser.add_argument("--generators", type=int, default=0, help="0: one per 1,000 robots")
    parser.add_argument(
        "--inflight", type=int, default=3, help="requests one robot has open at most"
    )
    parser.add_argument("--all-steps", action="store_true", help="go on after a step fails")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--out", type=Path)
    # Here, not in add_arguments: the suite has one --workers (bench.log_ingestion's) for both.
    parser.add_argument(
        "--workers", type=int, default=1, help="server worker processes (PostgreSQL only)"
    )
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    results = [run(store, args) for store in stores]
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
