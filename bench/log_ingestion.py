"""Log ingestion through the batch operation: 100 simulated agents (one robot each, one job
each) post batches of log lines to a real server on SQLite and on PostgreSQL, as the agent's
shipper does; beside it, in the same run, PostgreSQL's own COPY of the same rows into a table
of the same shape (same columns, same indexes), from one connection.

    .venv/bin/python -m bench.log_ingestion [--agents 100] [--batches 10] [--batch-size 500]
        [--workers 1] [--stores sqlite,postgres] [--out FILE]

Each agent is a thread with a keep-alive connection sending a body encoded once beforehand,
so the load generator costs little next to the server. CPU is user + system time over the
run as a share of one core: the server process's (and its workers'), the PostgreSQL
backends' serving the benchmark's database, and the load generator's own: where the
machine's cores went.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg

from bench.common import (
    PG_ADMIN,
    Client,
    Server,
    ServerMeter,
    cpu_of,
    cpu_spent,
    create_pg_database,
    drop_pg_database,
    load_average,
)

LEVELS = ("Info", "Debug", "Warning", "Info", "Error")


@dataclass
class Agent:
    robot: str
    job: str
    version: str
    body: bytes = b""


def line(agent: int, index: int, job: str, version: str) -> dict[str, Any]:
    """A line as robot/logship.py sends it."""
    return {
        "Level": LEVELS[index % len(LEVELS)],
        "Message": f"agent {agent} step {index}: invoice {uuid.uuid4().hex[:12]} posted",
        "Fields": {"stream": "stdout", "step": index},
        "Time": round(time.time(), 6),
        "JobGUID": job,
        "ProcessVersionGUID": version,
    }


def zip_script() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", "print('hello')\n")
    return base64.b64encode(buffer.getvalue()).decode()


def set_up(server: Server, agents: int, batch_size: int) -> list[Agent]:
    admin = Client(server.url, server.key)
    status, process = admin.post("/api/process/create", {"Name": f"bench-{uuid.uuid4().hex[:6]}"})
    assert status == 200, process
    status, version = admin.post(
        "/api/processVersion/create",
        {"Process": process["guid"], "FileName": "bench.zip", "ProcessFile": zip_script()},
    )
    assert status == 200, version
    made = []
    for i in range(agents):
        status, robot = admin.post("/api/robot/create", {"Name": f"agent-{i}"})
        assert status == 200, robot
        status, job = admin.post(
            "/api/job/create", {"Process": process["guid"], "Robot": robot["GUID"]}
        )
        assert status == 200, job
        agent = Agent(robot["GUID"], job["guid"], version["guid"])
        lines = [line(i, j, agent.job, agent.version) for j in range(batch_size)]
        agent.body = json.dumps({"Lines": lines}).encode()
        made.append(agent)
    return made


def post_batches(
    server: Server, agent: Agent, batches: int, errors: list[str], retries: list[int]
) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=300)
    auth = "Basic " + base64.b64encode(agent.robot.encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    sent = 0
    while sent < batches:
        conn.request("POST", "/api/log/batch", body=agent.body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        if response.status == 429:  # cannot happen with the limit off; honoured anyway
            time.sleep(float(response.getheader("Retry-After", "1")))
            continue
        if response.status == 503:  # the agent's shipper retries too (shared database)
            retries.append(1)
            time.sleep(0.5)
            continue
        if response.status != 200:
            errors.append(f"{response.status} {raw[:200]!r}")
            return
        sent += 1
    conn.close()


def cpu_seconds(pid: int) -> float:
    proc = psutil.Process(pid)
    return cpu_of([proc, *proc.children(recursive=True)])


def backend_cpu(pg_url: str | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the benchmark's database (other
    databases on the machine are left out)."""
    if pg_url is None:
        return {}
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])
        ]
    found = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        found[pid] = times.user + times.system
    return found


def ingest(store: str, args: argparse.Namespace, pg_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        server = Server(
            Path(data),
            database_url=pg_url,
            workers=args.workers,
            env={
                "ROBOFLEET_LOG_LINES_PER_SECOND_PER_ROBOT": "0",
                "ROBOFLEET_DB_POOL_SIZE": str(args.pool),
            },
        ).start()
        try:
            agents = set_up(server, args.agents, args.batch_size)
            assert server.process is not None
            errors: list[str] = []
            retries: list[int] = []
            threads = [
                threading.Thread(
                    target=post_batches, args=(server, a, args.batches, errors, retries)
                )
                for a in agents
            ]
            cpu_before = cpu_seconds(server.process.pid)
            pg_before = backend_cpu(pg_url)
            own_before = cpu_of([psutil.Process()])
            started = time.perf_counter()
            with ServerMeter(server) as meter:
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(server.process.pid) - cpu_before
            pg_after = backend_cpu(pg_url)
            pg_cpu = cpu_spent(pg_before, pg_after)
            own_cpu = cpu_of([psutil.Process()]) - own_before
            if errors:
                raise RuntimeError(f"{len(errors)} batches failed, first: {errors[0]}")
            lines = args.agents * args.batches * args.batch_size
            status, stored = Client(server.url, server.key).get("/api/log/list?Count=1")
            assert status == 200 and stored, stored
            return {
                "system": "robofleet /api/log/batch (HTTP)",
                "store": store,
                "workers": args.workers,
                "pool": args.pool,
                "lines": lines,
                "seconds": round(elapsed, 3),
                "lines_per_s": round(lines / elapsed),
                "server_cpu_cores": round(cpu / elapsed, 2),
                "postgres_cpu_cores": round(pg_cpu / elapsed, 2) if store == "postgres" else "-",
                "load_generator_cpu_cores": round(own_cpu / elapsed, 2),
                "retried_503": len(retries),
                # An operation is one batch request of --batch-size lines.
                "server_cpu_ms_per_op": meter.figures(args.agents * args.batches)[
                    "server_cpu_ms_per_op"
                ],
                "server_peak_rss_mib": meter.figures(1)["server_peak_rss_mib"],
                "load_average": load_average(),
            }
        finally:
            server.stop()


def copy_rows(pg_url: str, lines: int, agents: int) -> dict[str, Any]:
    """PostgreSQL's COPY of the same rows (the columns the server writes, JSON fields and
    all) into a copy of the logs table with all its indexes, from data encoded beforehand."""
    now = datetime.now(UTC).isoformat()
    buffer = io.StringIO()
    for n in range(lines):
        agent, step = n % agents, n // agents
        fields = json.dumps({"stream": "stdout", "step": step})
        message = f"agent {agent} step {step}: invoice {uuid.uuid4().hex[:12]} posted"
        buffer.write(
            f"{uuid.uuid4()}\t1\t{agent + 1}\t1\t{agent + 1}\t{LEVELS[step % 5]}\t{message}\t"
            f"{fields}\t\\N\t\\N\t{now}\t{now}\n"
        )
    data = buffer.getvalue().encode()
    columns = (
        "guid, account_id, robot_id, process_version_id, job_id, level, message, fields, "
        "screenshot_sha256, screenshot_type, created_at, updated_at"
    )
    with psycopg.connect(pg_url) as conn:
        conn.execute("DROP TABLE IF EXISTS copy_baseline")
        conn.execute("CREATE TABLE copy_baseline (LIKE logs INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY copy_baseline ({columns}) FROM STDIN") as copy,
        ):
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
        conn.commit()
        elapsed = time.perf_counter() - started
    return {
        "system": "PostgreSQL COPY (one connection)",
        "store": "postgres",
        "workers": "-",
        "lines": lines,
        "seconds": round(elapsed, 3),
        "lines_per_s": round(lines / elapsed),
        "server_cpu_cores": "-",
    }


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every store in args.stores, and COPY beside PostgreSQL."""
    results: list[dict[str, Any]] = []
    done = 0
    for store in args.stores.split(","):
        pg_url = create_pg_database() if store == "postgres" else None
        try:
            workers = args.workers
            if store == "sqlite":
                args.workers = 1  # SQLite serves one process
            results.append(ingest(store, args, pg_url))
            args.workers = workers
            if pg_url and args.copy:
                lines = args.agents * args.batches * args.batch_size
                results.append(copy_rows(pg_url, lines, args.agents))
        finally:
            if pg_url:
                drop_pg_database(pg_url)
        for result in results[done:]:
            print(json.dumps(result), file=sys.stderr, flush=True)
        done = len(results)
    copy = next((r for r in results if r["system"].startswith("PostgreSQL")), None)
    for result in results:
        if copy and result["store"] == "postgres" and result is not copy:
            result["copy_over_robofleet"] = round(copy["lines_per_s"] / result["lines_per_s"], 2)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--batches", type=int, default=10, help="per agent")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL)")
    parser.add_argument("--pool", type=int, default=10, help="PostgreSQL connections/process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.copy = True
    text = json.dumps(measure(args), indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
