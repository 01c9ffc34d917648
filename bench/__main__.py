"""The benchmark suite in one command: every benchmark, medians of repeats, one Markdown report.

    .venv/bin/python -m bench [--quick] [--repeat 3] [--store sqlite|postgresql|both]
        [--only fleet,queue,dispatch,triggers,logs] [--with-storage] [--with-resources]
        [--robots 100,250,500] [--duration 30] [--with-web] [--out results.json]

Runs the fleet (N simulated robots in steps), the queue drain (one per call and batches of
50, with PgQueuer and procrastinate beside it on PostgreSQL when the `bench` extra is
installed), dispatch latency, trigger lag and queue reaction, and log ingestion; with flags,
the storage memory, credential read and web page (bench.web_pages) benchmarks too. Each runs
`--repeat` times and the report gives the medians (the raw runs are in the JSON). Every rate
has the server's CPU per operation beside it (user + system time of the server process over
the measured window, divided by the operations) and the server's peak RSS; every row notes the
load average, since this machine is shared. `--quick` is a smoke run with tiny sizes (seconds,
not minutes): its figures mean nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import (
    dispatch_latency,
    fleet,
    log_ingestion,
    queue_throughput,
    resource_reads,
    storage_memory,
    trigger_lag,
    web_pages,
)
from bench.common import load_average, median_of

BENCHMARKS = ("fleet", "queue", "dispatch", "triggers", "logs")
OPTIONAL = ("resources", "storage", "web")

# (key, header) of each benchmark's Markdown table.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "fleet": [
        ("store", "store"),
        ("robots", "robots"),
        ("offered_ops_per_s", "offered ops/s"),
        ("achieved_ops_per_s", "achieved ops/s"),
        ("p50_ms", "p50 ms"),
        ("p99_ms", "p99 ms"),
        ("heartbeat_p99_ms", "heartbeat p99"),
        ("log_p99_ms", "log p99"),
        ("add_p99_ms", "add p99"),
        ("take_p99_ms", "take p99"),
        ("finish_p99_ms", "finish p99"),
        ("read_p99_ms", "read p99"),
        ("server_cpu_cores", "server CPU (cores)"),
        ("server_cpu_ms_per_op", "server CPU ms/op"),
        ("postgresql_cpu_cores", "PostgreSQL CPU (cores)"),
        ("server_peak_rss_mib", "peak RSS MiB"),
        ("generator_cpu_cores", "load gen. CPU (cores)"),
        ("held", "held"),
        ("load_average", "load avg"),
    ],
    "queue": [
        ("system", "system"),
        ("store", "store"),
        ("batch", "batch"),
        ("takers", "takers"),
        ("tasks_per_s", "tasks/s"),
        ("server_cpu_ms_per_op", "server CPU ms/task"),
        ("server_cpu_cores", "server CPU (cores)"),
        ("server_peak_rss_mib", "peak RSS MiB"),
        ("load_average", "load avg"),
    ],
    "dispatch": [
        ("store", "store"),
        ("p50_ms", "p50 ms"),
        ("p95_ms", "p95 ms"),
        ("p99_ms", "p99 ms"),
        ("max_ms", "max ms"),
        ("server_cpu_ms_per_op", "server CPU ms/job"),
        ("server_peak_rss_mib", "peak RSS MiB"),
        ("load_average", "load avg"),
    ],
    "triggers": [
        ("store", "store"),
        ("fire_lag_p50_ms", "fire lag p50 ms"),
        ("fire_lag_p99_ms", "fire lag p99 ms"),
        ("fire_server_cpu_ms_per_op", "server CPU ms/fire"),
        ("reaction_p50_ms", "queue reaction p50 ms"),
        ("reaction_p99_ms", "queue reaction p99 ms"),
        ("reaction_server_cpu_ms_per_op", "server CPU ms/task"),
        ("reaction_server_peak_rss_mib", "peak RSS MiB"),
        ("load_average", "load avg"),
    ],
    "logs": [
        ("system", "system"),
        ("store", "store"),
        ("lines_per_s", "lines/s"),
        ("server_cpu_ms_per_op", "server CPU ms/batch"),
        ("server_cpu_cores", "server CPU (cores)"),
        ("server_peak_rss_mib", "peak RSS MiB"),
        ("load_average", "load avg"),
    ],
    "resources": [
        ("store", "store"),
        ("reads_per_s", "reads/s"),
        ("read_p50_ms", "read p50 ms"),
        ("read_p95_ms", "read p95 ms"),
        ("server_cpu_ms_per_op", "server CPU ms/read"),
        ("server_peak_rss_mib", "peak RSS MiB"),
        ("rotation_s", "rotation s"),
        ("load_average", "load avg"),
    ],
    "web": [
        ("store", "store"),
        ("page", "page"),
        ("robots", "robots"),
        ("server_p50_ms", "server p50 ms"),
        ("server_p95_ms", "server p95 ms"),
        ("round_trip_p50_ms", "round trip p50 ms"),
        ("bytes", "bytes"),
        ("load_average", "load avg"),
    ],
    "storage": [
        ("size_mib", "file MiB"),
        ("idle_rss_mib", "idle RSS MiB"),
        ("upload_peak_rss_mib", "upload peak RSS MiB"),
        ("download_peak_rss_mib", "download peak RSS MiB"),
        ("upload_mib_per_s", "upload MiB/s"),
        ("download_mib_per_s", "download MiB/s"),
        ("load_average", "load avg"),
    ],
}


def repeated(times: int, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    runs = [measure() for _ in range(times)]
    return {**median_of(runs), "runs": runs}


def run_fleet(args: argparse.Namespace, stores: list[str]) -> list[dict[str, Any]]:
    """Per store, the steps' medians over the repeats (a step counts where it ran: the ramp
    stops after the first step not held), and the median of the largest N held."""
    rows = []
    for store in stores:
        runs = [fleet.run(store, args) for _ in range(args.repeat)]
        for count in sorted({s["robots"] for r in runs for s in r["steps"]}):
            steps = [s for r in runs for s in r["steps"] if s["robots"] == count]
            row = {**median_of(steps), "held": all(s["held"] for s in steps)}
            row["repeats"] = len(steps)
            row["runs"] = steps  # each run's figures: a cold start varies from run to run
            rows.append(row)
        largest = statistics.median(r["largest_held"] for r in runs)
        rows.append({"store": store, "robots": "largest held", "largest_held": largest})
    return rows


def run_queue(args: argparse.Namespace, stores: list[str]) -> list[dict[str, Any]]:
    peers = importlib.util.find_spec("pgqueuer") is not None
    peers = peers and importlib.util.find_spec("procrastinate") is not None
    if not peers and "postgresql" in stores:
        print("queue: PgQueuer/procrastinate not installed (pip install -e '.[bench]'): no peers")
    return queue_throughput.run(args.tasks, args.takers, stores, args.repeat, peers, False)


def run_logs(args: argparse.Namespace, stores: list[str]) -> list[dict[str, Any]]:
    rows = []
    for store in stores:
        args.stores = "postgres" if store == "postgresql" else "sqlite"
        runs = [log_ingestion.measure(args)[0] for _ in range(args.repeat)]
        rows.append({**median_of(runs), "store": store, "runs": runs})
    return rows


def run_all(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    wanted = list(args.only) + (["resources"] if args.with_resources else [])
    wanted += ["storage"] if args.with_storage else []
    wanted += ["web"] if args.with_web and "web" not in wanted else []
    results: dict[str, list[dict[str, Any]]] = {}
    for name in wanted:
        started = time.monotonic()
        print(f"== {name} ({', '.join(stores)}), {args.repeat} run(s) each", flush=True)
        if name == "fleet":
            results[name] = run_fleet(args, stores)
        elif name == "queue":
            results[name] = run_queue(args, stores)
        elif name == "dispatch":
            results[name] = [
                {
                    "store": s,
                    **repeated(
                        args.repeat,
                        lambda s=s: dispatch_latency.measure(s, args.jobs, args.dispatch_warm_up),
                    ),
                }
                for s in stores
            ]
        elif name == "triggers":
            results[name] = [
                {
                    "store": s,
                    **repeated(
                        args.repeat,
                        lambda s=s: trigger_lag.measure(
                            s, args.triggers, args.trigger_tasks, args.trigger_warm_up, args.lead
                        ),
                    ),
                }
                for s in stores
            ]
        elif name == "logs":
            results[name] = run_logs(args, stores)
        elif name == "resources":
            results[name] = [
                {
                    "store": s,
                    **repeated(
                        args.repeat, lambda s=s: resource_reads.run(s, args.secrets, args.reads)
                    ),
                }
                for s in stores
            ]
        elif name == "web":
            # In-process on SQLite: the page's server time, not the store's.
            runs = [
                web_pages.measure(args.web_robots, args.web_requests) for _ in range(args.repeat)
            ]
            results[name] = [
                {**median_of([run[i] for run in runs]), "runs": [run[i] for run in runs]}
                for i in range(len(runs[0]))
            ]
        elif name == "storage":
            results[name] = [
                repeated(args.repeat, lambda: storage_memory.measure(args.size_mib, "local"))
            ]
        print(f"   {name} took {time.monotonic() - started:.0f} s", flush=True)
    return results


def markdown(results: dict[str, list[dict[str, Any]]]) -> str:
    parts = []
    for name, rows in results.items():
        columns = COLUMNS[name]
        lines = [
            f"### {name}",
            "",
            "| " + " | ".join(h for _, h in columns) + " |",
            "|" + "---|" * len(columns),
        ]
        for row in rows:
            if row.get("robots") == "largest held":
                lines.append(f"| {row['store']} | **largest N held: {row['largest_held']:g}** |")
                continue
            lines.append("| " + " | ".join(cell(row.get(key)) for key, _ in columns) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return (
            f"{value:,.0f}"
            if abs(value) >= 1000
            else f"{value:.3g}"
            if value < 10
            else f"{value:.1f}"
        )
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in cpuinfo.read_text().splitlines()
                if ln.startswith("model name")
            ),
            "",
        )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": load_average(),
    }


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    made.add_argument("--quick", action="store_true", help="a smoke run with tiny sizes")
    made.add_argument(
        "--repeat", type=int, default=3, help="runs of each; the report gives medians"
    )
    made.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    made.add_argument(
        "--only",
        type=lambda text: [n for n in text.split(",") if n],
        default=list(BENCHMARKS),
        help=f"comma-separated, of {','.join(BENCHMARKS + OPTIONAL)}",
    )
    made.add_argument("--with-resources", action="store_true", help="credential reads too")
    made.add_argument("--with-storage", action="store_true", help="2 GiB storage memory too")
    made.add_argument("--with-web", action="store_true", help="web pages with a big fleet too")
    made.add_argument("--out", type=Path, help="write the results (and raw runs) as JSON")
    fleet.add_arguments(made)
    log_ingestion.add_arguments(made)
    web_pages.add_arguments(made)
    made.add_argument("--tasks", type=int, default=5000, help="queue drain: tasks")
    made.add_argument(
        "--takers", type=int, help="queue drain: taker processes (default: the best per batch)"
    )
    made.add_argument("--jobs", type=int, default=200, help="dispatch: jobs")
    made.add_argument("--dispatch-warm-up", type=int, default=5, help="dispatch: jobs unmeasured")
    made.add_argument("--triggers", type=int, default=1000, help="trigger lag: triggers")
    made.add_argument("--trigger-tasks", type=int, default=100, help="queue reaction: tasks")
    made.add_argument("--trigger-warm-up", type=int, default=100)
    made.add_argument("--secrets", type=int, default=1000, help="credential reads: secrets")
    made.add_argument("--reads", type=int, default=2000, help="credential reads: reads")
    made.add_argument("--size-mib", type=int, default=2048, help="storage: file size")
    return made


QUICK = {
    "robots": [10],
    "duration": 3.0,
    "warm_up": 1.0,
    "seed_tasks": 20,
    "queues": 2,
    "tasks": 100,
    "takers": 2,
    "jobs": 3,
    "dispatch_warm_up": 1,
    "triggers": 5,
    "trigger_tasks": 2,
    "trigger_warm_up": 0,
    "agents": 2,
    "batches": 2,
    "batch_size": 20,
    "secrets": 5,
    "reads": 20,
    "size_mib": 8,
    "web_robots": 50,
    "web_requests": 5,
}


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    unknown = set(args.only) - set(BENCHMARKS + OPTIONAL)
    if unknown:
        raise SystemExit(
            f"--only: unknown benchmark(s) {sorted(unknown)}; pick from {BENCHMARKS + OPTIONAL}"
        )
    args.lead = 0.0
    args.copy = False
    if args.quick:
        defaults = parser().parse_args([])
        for key, value in QUICK.items():
            if getattr(args, key) == getattr(defaults, key):  # explicit options still win
                setattr(args, key, value)
        args.lead = 2.0  # the triggers fire 3 s ahead, not at the next minute
    started = datetime.now(UTC)
    report = {
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "repeat": args.repeat,
        "quick": args.quick,
        "results": run_all(args),
    }
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["load_average_at_end"] = load_average()
    table = markdown(report["results"])
    report["markdown"] = table
    print()
    print(
        f"`{report['command']}`, {report['started']} to {report['finished']}, "
        f"load average {report['machine']['load_average_at_start']} at start, "
        f"{report['load_average_at_end']} at end; medians of {args.repeat} run(s)\n"
    )
    print(table)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
