"""One queue drain with the CPU of each side: the server's and PostgreSQL's per task, and the
cores left idle. For comparing two versions of the source one drain at a time (run it with
PYTHONPATH pointing at each copy in turn, alternating), and for profiling one drain.

    .venv/bin/python -m bench.drain_cpu [--store sqlite|postgresql] [--batch 50]
        [--tasks 40000] [--takers 8] [--py-spy FILE] [--gil] [--native]

Prints one JSON line: tasks/s, the server's user and system CPU ms per task, PostgreSQL's
(all its processes on this machine, so the machine must be otherwise quiet), its WAL and
transactions per task, the server's main thread's context switches per task (voluntary, and
preempted), the takers' CPU and the idle cores over the drain.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

from bench.common import (
    PG_ADMIN,
    Server,
    cpu_spent,
    create_pg_database,
    drop_pg_database,
    postgres_cpu,
)
from bench.queue_throughput import drain, preload

WAL_READ = (
    "SELECT wal_records, wal_fpi, wal_bytes, pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
    " FROM pg_stat_wal"
)


def _wal() -> tuple[int, ...]:
    """PostgreSQL's WAL records, full-page images and bytes so far (the whole cluster's), and
    its next transaction id (each transaction that writes takes one)."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(WAL_READ).fetchone()
    assert row is not None
    return tuple(int(value) for value in row)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=40_000)
    parser.add_argument("--takers", type=int, default=8)
    parser.add_argument("--py-spy", help="record the server with py-spy (raw format) here")
    parser.add_argument("--gil", action="store_true", help="py-spy: only GIL-holding samples")
    parser.add_argument("--native", action="store_true", help="py-spy: C and Cython frames too")
    args = parser.parse_args()
    url = create_pg_database() if args.store == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), database_url=url).start()
        assert server.process is not None
        try:
            preload(server, "drain", args.tasks)
            spy = None
            if args.py_spy:
                # The venv's py-spy, found beside its interpreter (the venv need not be active).
                beside = Path(sys.executable).with_name("py-spy")
                spy_path = str(beside) if beside.exists() else "py-spy"
                # By thread: the event loop's share apart from SQLite's write lane.
                command = [spy_path, "record", "-r", "250", "-f", "raw", "--threads"]
                command += ["-o", args.py_spy]
                command += ["--pid", str(server.process.pid)]
                # Native stacks need the process paused for each sample.
                command += ["--native"] if args.native else ["--nonblocking"]
                command += ["--gil"] if args.gil else []
                spy = subprocess.Popen(command, stdout=subprocess.DEVNULL)
                time.sleep(1)
            process = psutil.Process(server.process.pid)
            postgres_before, machine_before = postgres_cpu(), psutil.cpu_times()
            server_before = process.cpu_times()
            switches_before = process.num_ctx_switches()
            wal_before = _wal() if url else (0, 0, 0, 0)
            done, meter, client_cpu = drain(server, "drain", args.takers, args.batch)
            server_after = process.cpu_times()
            switches_after = process.num_ctx_switches()
            switches = [a - b for a, b in zip(switches_after, switches_before, strict=True)]
            wal_after = _wal() if url else wal_before
            wal = [after - before for after, before in zip(wal_after, wal_before, strict=True)]
            postgres_after, machine_after = postgres_cpu(), psutil.cpu_times()
            if spy is not None:
                spy.send_signal(2)
                spy.wait()
            postgres = cpu_spent(postgres_before, postgres_after)
            per_task = 1000 / done
            print(
                json.dumps(
                    {
                        "store": args.store,
                        "batch": args.batch,
                        "tasks_per_s": round(done / meter.seconds),
                        "server_user_ms": round(
                            (server_after.user - server_before.user) * per_task, 3
                        ),
                        "server_system_ms": round(
                            (server_after.system - server_before.system) * per_task, 3
                        ),
                        "postgresql_ms": round(postgres * per_task, 3) if url else None,
                        "wal_records": round(wal[0] / done, 1) if url else None,
                        "wal_fpi": round(wal[1] / done, 2) if url else None,
                        "wal_bytes": round(wal[2] / done) if url else None,
                        "writes_per_task": round(wal[3] / done, 3) if url else None,
                        "server_switches": round(switches[0] / done, 2),
                        "server_preempted": round(switches[1] / done, 2),
                        "takers_ms": round(client_cpu * 1000 / done, 3),
                        "idle_cores": round(
                            (machine_after.idle - machine_before.idle) / meter.seconds, 2
                        ),
                    }
                )
            )
        finally:
            server.stop()
            if url:
                drop_pg_database(url)


if __name__ == "__main__":
    main()
