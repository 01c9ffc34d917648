"""Dispatch latency: from the API call that creates a job to the agent reporting In Progress.

A real server and a real idle agent (`robofleet robot`, waiting with waitJob). For each of N
jobs, one after another: note the wall clock, create the job over HTTP, wait for it to end
and for the agent to be idle again in its next waitJob (job status read from the database,
then no CPU used by the agent for 60 ms), then read the job's `started_at` (set when the
agent's In Progress report was committed) straight from the database, at microsecond
precision. Same machine, same clock. Waiting for the idle agent matters: a job created while
the agent is still reporting the last one measures the agent's own finishing, not dispatch.

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
from typing import Any

import psutil
from sqlalchemy import Engine, create_engine, select

from bench.common import (
    Client,
    Server,
    ServerMeter,
    cpu_of,
    create_pg_database,
    drop_pg_database,
    load_average,
    publish_noop,
    summary,
)
from robofleet.contract import JobStatus
from robofleet.server.db.tables import JobRow

ENDED = {int(JobStatus.SUCCESS), int(JobStatus.FAILED), int(JobStatus.ABORTED)}

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


def wait_until_idle(engine: Engine, guid: str, agent: psutil.Process, quiet: float = 0.06) -> None:
    """Until the job has ended (read from the database, so the wait costs the server nothing)
    and the agent has gone quiet: no CPU used by it for `quiet` seconds, i.e. it has sent its
    report and heartbeat and sits in its next waitJob. Only then is the next job created."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            status = conn.execute(select(JobRow.status).where(JobRow.guid == guid)).scalar_one()
        if status in ENDED:
            break
        time.sleep(0.005)
    else:
        raise RuntimeError(f"job {guid} did not end")
    last, since = -1.0, time.monotonic()
    while time.monotonic() < deadline:
        busy = cpu_of([agent, *agent.children(recursive=True)])
        if busy != last:
            last, since = busy, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.01)
    raise RuntimeError("the agent did not go idle")


def measure(store: str, jobs: int, warm_up: int = 5) -> dict[str, Any]:
    """Dispatch latency over `jobs` jobs (after `warm_up` unmeasured), with the server's CPU per job
    (create, take, the agent's reports and heartbeat) and peak RSS over the measured jobs."""
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
        load = load_average()
        try:

            def dispatch_one() -> None:
                called = time.time()
                status, job = client.post(
                    "/api/job/create", {"Process": "noop", "Robot": robot["GUID"]}
                )
                assert status == 200, job
                wait_until_idle(engine, job["guid"], psutil.Process(agent.pid))
                with engine.connect() as conn:
                    started = conn.execute(
                        select(JobRow.started_at).where(JobRow.guid == job["guid"])
                    ).scalar_one()
                latencies.append((started.timestamp() - called) * 1000)

            for _ in range(warm_up):  # warm up: the agent's package cache, the server's statements
                dispatch_one()
            latencies.clear()
            with ServerMeter(server) as meter:
                for _ in range(jobs):
                    dispatch_one()
        finally:
            agent.terminate()
            agent.wait(timeout=60)
            engine.dispose()
            server.stop()
            if url:
                drop_pg_database(url)
    return {
        **{f"{k}_ms": round(v, 1) for k, v in summary(latencies).items()},
        **meter.figures(jobs),
        "load_average": max(load, load_average()),
    }


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
