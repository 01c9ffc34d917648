"""Dispatch latency: from the API call that creates a job to the agent reporting In Progress.

A real server and a real idle agent (`robofleet robot`, waiting with waitJob). For each of N
jobs, one after another: note the wall clock, create the job over HTTP, wait for it to end,
then read the job's `started_at` (set when the agent's In Progress report was committed)
straight from the database, at microsecond precision. Same machine, same clock.

    .venv/bin/python -m bench.dispatch_latency [--jobs 200] [--store sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, select

from bench.common import (
    Client,
    Server,
    create_pg_database,
    drop_pg_database,
    publish_noop,
    summary,
)
from robofleet.server.db.tables import JobRow

ROOT = Path(__file__).resolve().parent.parent


def start_agent(server: Server, robot: str, work: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOFLEET_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "robofleet",
            "robot",
            "--server",
            server.url,
            "--robot",
            robot,
            "--work-dir",
            str(work),
            "--wait-timeout",
            "30",
            "--heartbeat-interval",
            "10",
        ],
        env=env,
        stdout=(work.parent / "agent.log").open("ab"),
        stderr=subprocess.STDOUT,
    )


def measure(store: str, jobs: int) -> dict[str, float]:
    url = create_pg_database() if store == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "server", database_url=url).start()
        client = Client(server.url, server.key)
        _, robot = client.post("/api/robot/create", {"Name": "bench-bot"})
        publish_noop(client)
        agent = start_agent(server, robot["GUID"], Path(tmp) / "agent")
        db_url = (
            url.replace("postgresql://", "postgresql+psycopg://")
            if url
            else f"sqlite:///{Path(tmp) / 'server' / 'robofleet.db'}"
        )
        engine = create_engine(db_url)
        latencies: list[float] = []
        try:
            for _ in range(jobs + 5):
                called = time.time()
                status, job = client.post(
                    "/api/job/create", {"Process": "noop", "Robot": robot["GUID"]}
                )
                assert status == 200, job
                while client.get(f"/api/job/read/{job['guid']}")[1]["status"] not in (4, 5):
                    time.sleep(0.01)
                with engine.connect() as conn:
                    started = conn.execute(
                        select(JobRow.started_at).where(JobRow.guid == job["guid"])
                    ).scalar_one()
                started_ts = started.timestamp()
                latencies.append((started_ts - called) * 1000)
        finally:
            agent.terminate()
            agent.wait(timeout=60)
            engine.dispose()
            server.stop()
            if url:
                drop_pg_database(url)
    return {k: round(v, 1) for k, v in summary(latencies[5:]).items()}  # first 5 warm up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    for store in stores:
        result = measure(store, args.jobs)
        print(
            f"{store:<10} {args.jobs} jobs  dispatch latency ms: {json.dumps(result)}", flush=True
        )


if __name__ == "__main__":
    main()
