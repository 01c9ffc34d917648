"""Trigger fire lag and queue-trigger reaction, on a real server process.

Fire lag: N cron triggers on a group of four robots, a job for the group when all are busy
(WhenBusy any_free) (one made through the API, the others copied from it straight into the
database, which is set-up, not what is measured) all due at the same second, the start of a
minute; the lag of each is its job's `created_at` minus that scheduled time, both read from
the database (server clock, microseconds). Before that minute, --warm-up of the triggers fire
once (a running server's statements are compiled and its caches warm; 0 measures a fresh
process's first pass).

Queue reaction: a queue trigger (one job per New task) made through the API; tasks are added
one at a time through the API, and each reaction is the job's `created_at` minus the task's
`created_at`. The previous job is marked ended in the database before the next task, so the
trigger's running-job count does not hold the next job back.

    .venv/bin/python -m bench.trigger_lag [--triggers 1000] [--tasks 200] \
        [--warm-up 100] [--store sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, update

from bench.common import (
    Client,
    Server,
    ServerMeter,
    create_pg_database,
    drop_pg_database,
    load_average,
    publish_noop,
    summary,
)
from robofleet.contract import JobStatus
from robofleet.server.db.tables import JobRow, TaskRow, TriggerFireRow, TriggerRow

SUCCESS = int(JobStatus.SUCCESS)


def _ok(result: tuple[int, Any]) -> Any:
    status, body = result
    assert status == 200, body
    return body


def _setup(client: Client) -> str:
    """Four robots in a group, and a process; returns the first robot's GUID."""
    robots = [
        _ok(client.post("/api/robot/create", {"Name": f"bench-bot-{n}"}))["GUID"] for n in range(4)
    ]
    _ok(client.post("/api/robotGroup/create", {"Name": "bench-group"}))
    for robot in robots:
        _ok(
            client.request(
                "PUT",
                "/api/robotGroup/addRobot",
                {"RobotGroupGuid": "bench-group", "RobotGuid": robot},
            )
        )
    publish_noop(client)
    return str(robots[0])


def fire_lag(
    client: Client,
    engine: Engine,
    robot: str,
    triggers: int,
    warm_up: int,
    meter: ServerMeter,
    lead: float = 0,
) -> dict[str, float]:
    """Lags of the fires; `meter` measures the server from just before the due time until
    every trigger has fired."""
    guid = _ok(
        client.post(
            "/api/schedule/create",
            {
                "Name": "lag-0",
                "ProcessingType": 2,
                "CronTab": "0 * * * *",
                "RobotGroupId": "bench-group",
                "WhenBusy": "any_free",
                "ProcessId": "noop",
                "Status": 0,
            },
        )
    )["guid"]
    with engine.begin() as conn:
        template = dict(
            conn.execute(select(TriggerRow.__table__).where(TriggerRow.guid == guid))
            .mappings()
            .one()
        )
        template.pop("id")
        copies = [
            {**template, "guid": str(uuid.uuid4()), "name": f"lag-{n}"} for n in range(1, triggers)
        ]
        conn.execute(insert(TriggerRow.__table__), copies)
    if warm_up:
        _warm_up(engine, warm_up)
    # The next minute at least 5 s ahead (as cron fires): every trigger is armed for it at
    # once. With `lead`, a whole second `lead` seconds ahead instead (a quick run).
    if lead:
        due = (datetime.now(UTC) + timedelta(seconds=lead + 1)).replace(microsecond=0)
    else:
        due = (datetime.now(UTC) + timedelta(seconds=65)).replace(second=0, microsecond=0)
        if (due - datetime.now(UTC)).total_seconds() > 65:
            due -= timedelta(minutes=1)
    with engine.begin() as conn:
        conn.execute(
            update(TriggerRow)
            .where(TriggerRow.name.like("lag-%"))
            .values(status=1, next_fire_at=due)
        )
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 0.2))
    deadline = time.monotonic() + 120
    lags: list[float] = []
    with meter:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(JobRow.created_at)
                    .join(TriggerFireRow, TriggerFireRow.job_id == JobRow.id)
                    .where(TriggerFireRow.scheduled_at == due)
                ).all()
            if len(rows) >= triggers:
                lags = [(_aware(r.created_at) - due).total_seconds() * 1000 for r in rows]
                break
            time.sleep(0.1)
    assert len(lags) == triggers, f"only {len(lags)} of {triggers} fired"
    with engine.begin() as conn:  # the jobs would make the next part's robot busier
        conn.execute(update(JobRow).values(status=SUCCESS))
        conn.execute(update(TriggerRow).values(status=0, next_fire_at=None))
    return {k: round(v, 1) for k, v in summary(lags).items()}


def _warm_up(engine: Engine, count: int) -> None:
    """Fire `count` of the triggers once, now, before the measured minute: a server that has
    been running has its statements compiled and its caches filled (a fresh process pays
    that on its first pass, about 150 ms for the first batches)."""
    at = datetime.now(UTC).replace(microsecond=0)
    names = [f"lag-{n}" for n in range(count)]
    with engine.begin() as conn:
        conn.execute(
            update(TriggerRow).where(TriggerRow.name.in_(names)).values(status=1, next_fire_at=at)
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            fired = conn.scalar(
                select(func.count())
                .select_from(TriggerFireRow)
                .where(TriggerFireRow.scheduled_at == at)
            )
        if fired == count:
            break
        time.sleep(0.2)
    assert fired == count, f"warm-up: only {fired} of {count} fired"
    with engine.begin() as conn:  # their jobs would keep the robots busy
        conn.execute(update(JobRow).values(status=SUCCESS))


def queue_reaction(client: Client, engine: Engine, robot: str, tasks: int) -> dict[str, float]:
    _ok(client.post("/api/queue/create", {"Name": "bench-queue"}))
    _ok(
        client.post(
            "/api/schedule/create",
            {
                "Name": "queue-watch",
                "ProcessingType": 1,
                "Queue": "bench-queue",
                "QueueCondition": {"MinNewTasks": 0, "TasksPerJob": 1},
                "RobotId": robot,
                "WhenBusy": "fewest_pending",
                "ProcessId": "noop",
            },
        )
    )
    time.sleep(3)  # every node learns the watched queue (refreshed every 2 s)
    reactions: list[float] = []
    for n in range(tasks + 5):
        task = _ok(client.post("/api/task/create", {"Queue": "bench-queue", "Name": f"t{n}"}))
        deadline = time.monotonic() + 30
        job = None
        while job is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                job = conn.execute(
                    select(JobRow.id, JobRow.created_at, TaskRow.created_at.label("added"))
                    .join(TaskRow, TaskRow.id == JobRow.task_id)
                    .where(TaskRow.guid == task["guid"])
                ).first()
            if job is None:
                time.sleep(0.002)
        assert job is not None, f"no job for task {n}"
        reactions.append((_aware(job.created_at) - _aware(job.added)).total_seconds() * 1000)
        with engine.begin() as conn:
            conn.execute(update(JobRow).where(JobRow.id == job.id).values(status=SUCCESS))
    return {k: round(v, 1) for k, v in summary(reactions[5:]).items()}  # first 5 warm up


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def measure(store: str, triggers: int, tasks: int, warm_up: int, lead: float = 0) -> dict[str, Any]:
    """Fire lag and queue reaction on one store, each with the server's CPU per fire or per
    task (over the wait for the due time and the firing, or the adds and reactions) and the
    peak RSS."""
    url = create_pg_database() if store == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "server", database_url=url).start()
        client = Client(server.url, server.key)
        db_url = (
            url.replace("postgresql://", "postgresql+psycopg://")
            if url
            else f"sqlite:///{Path(tmp) / 'server' / 'robofleet.db'}"
        )
        engine = create_engine(db_url)
        try:
            robot = _setup(client)
            load = load_average()
            fire_meter = ServerMeter(server)
            lag = fire_lag(client, engine, robot, triggers, warm_up, fire_meter, lead)
            print(f"{store:<10} fire lag ms: {json.dumps(lag)}", file=sys.stderr, flush=True)
            # A fresh connection: the server closes one left idle while the triggers waited.
            client = Client(server.url, server.key)
            with ServerMeter(server) as task_meter:
                reaction = queue_reaction(client, engine, robot, tasks)
            print(
                f"{store:<10} queue reaction ms: {json.dumps(reaction)}",
                file=sys.stderr,
                flush=True,
            )
            with engine.connect() as conn:
                jobs = conn.execute(select(func.count()).select_from(JobRow)).scalar_one()
            assert jobs == warm_up + triggers + tasks + 5, jobs
        finally:
            engine.dispose()
            server.stop()
            if url:
                drop_pg_database(url)
    return {
        **{f"fire_lag_{k}_ms": v for k, v in lag.items()},
        **{f"fire_{k}": v for k, v in fire_meter.figures(triggers).items()},
        **{f"reaction_{k}_ms": v for k, v in reaction.items()},
        **{f"reaction_{k}": v for k, v in task_meter.figures(tasks + 5).items()},
        "load_average": max(load, load_average()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument(
        "--warm-up",
        type=int,
        default=100,
        help="triggers fired once before the measured minute (0: measure a fresh process)",
    )
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    for store in stores:
        result = measure(store, args.triggers, args.tasks, min(args.warm_up, args.triggers))
        print(f"{store:<10} {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
