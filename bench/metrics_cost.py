"""What the metrics cost the server (docs/metrics.md): the request middleware's CPU per
request, and the time of the status counts a scrape runs over a large task table.

    .venv/bin/python -m bench.metrics_cost [--tasks 300000] [--store sqlite|postgres]

Run the middleware part in a process with PROMETHEUS_MULTIPROC_DIR set (an empty folder) to
see multiprocess mode's cost."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import text

from bench.common import create_pg_database, drop_pg_database
from robofleet.server.api.request_metrics import RequestMetrics
from robofleet.server.db.status_counts import job_counts, robot_counts, task_counts
from robofleet.server.runtime_setup import build_runtime
from robofleet.server.settings import Settings
from robofleet.server.startup import prepare

QUEUES = 20
DELETED_ONE_IN = 1000


def _endpoint() -> None:
    return None


async def _answer(scope: dict[str, Any], _receive: Any, send: Any) -> None:
    scope["route"] = _ROUTE
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


_ROUTE = APIRoute("/api/task/take", _endpoint, methods=["POST"], tags=["Task"])


async def _cpu_per_call(app: Any, calls: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_message: dict[str, Any]) -> None:
        return None

    started = time.process_time()
    for _ in range(calls):
        scope = {"type": "http", "method": "POST", "path": "/api/task/take", "headers": []}
        await app(scope, receive, send)
    return (time.process_time() - started) / calls * 1e6


def middleware_cost(calls: int = 100_000) -> None:
    wrapped = RequestMetrics(_answer)
    for _ in range(2):  # the first round warms up
        bare = asyncio.run(_cpu_per_call(_answer, calls))
        metered = asyncio.run(_cpu_per_call(wrapped, calls))
    print(f"middleware: {metered - bare:.2f} µs CPU per request ({bare:.2f} bare app)")


def _fill(settings: Settings, tasks: int, postgres: bool) -> None:
    engine = build_runtime(settings).db.engine
    now = "now()" if postgres else "CURRENT_TIMESTAMP"
    task_guid = "gen_random_uuid()" if postgres else "'b' || g"  # a `uuid` on PostgreSQL
    with engine.begin() as connection:
        for number in range(QUEUES):
            connection.execute(
                text(
                    "INSERT INTO queues (guid, account_id, name, description, unique_tasks, "
                    "auto_change_status, retry_application, retry_business, retry_abandoned, "
                    "max_retries, retry_delay_seconds, lease_seconds, is_deleted, created_at, "
                    f"updated_at) VALUES (:guid, 1, :name, '', false, false, false, "
                    f"false, false, 0, 0, 300, false, {now}, {now})"
                ),
                {"guid": str(uuid.uuid4()), "name": f"q{number}"},
            )
        series = (
            "generate_series(1, :n) AS s(g)"
            if postgres
            else "(WITH RECURSIVE r(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM r WHERE g < :n) "
            "SELECT g FROM r) AS s"
        )
        connection.execute(
            text(
                "INSERT INTO tasks (guid, account_id, queue_id, name, description, comment, "
                "parameters, error_type, error_message, error_details, priority, rank, tags, "
                "status, deadline_key, retries, is_deleted, status_changed_at, created_at, "
                f"updated_at) SELECT {task_guid}, 1, (SELECT min(id) FROM queues) + g % "
                f"{QUEUES}, 't' || g, '', '', '{{}}', '', '', '', 2, 2, '', g % 7, "
                f"'9999-12-31 00:00:00', 0, g % {DELETED_ONE_IN} = 0, {now}, {now}, {now} "
                f"FROM {series}"
            ),
            {"n": tasks},
        )
    if postgres:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE tasks")
            )
    engine.dispose()


def count_cost(store: str, tasks: int) -> None:
    url = create_pg_database() if store == "postgres" else None
    folder = Path(tempfile.mkdtemp())
    settings = Settings(
        data_dir=folder,
        database_url=url,
        api_key=str(uuid.uuid4()),
        admin_password="bench-password",
        secret_key="b" * 64,
        scheduler_enabled=False,
    )
    try:
        prepare(settings)
        _fill(settings, tasks, postgres=url is not None)
        runtime = build_runtime(settings)
        for count in (task_counts, job_counts, robot_counts):
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                with runtime.db.read() as session:
                    count(session)
                best = min(best, time.perf_counter() - started)
            print(f"{store} {count.__name__}: {best * 1000:.1f} ms (best of 5, {tasks} tasks)")
        runtime.db.dispose()
    finally:
        if url:
            drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=300_000)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    middleware_cost()
    for store in ("sqlite", "postgres") if args.store == "both" else (args.store,):
        count_cost(store, args.tasks)


if __name__ == "__main__":
    main()
