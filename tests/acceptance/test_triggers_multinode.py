"""Three server processes on one PostgreSQL database, 200 cron triggers all due every
minute (trigger i at second i % 60), the leader SIGKILLed while they fire: each fire time of
each trigger gives exactly one job, and every fire time in the 20 seconds around the kill fired.

The next leader takes the lease when it runs out (5 s) and fires what came due meanwhile,
late but within the on-time tolerance, so each is a schedule fire, not a missed one. The
triggers are made through the API first (however long a busy machine takes); the window
checked starts once they all exist."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.support import pg
from tests.support.fleet import make_process, make_robot
from tests.support.nodes import libpq, scheduler_leader
from tests.support.resources import ok
from tests.support.server import ServerProcess

TRIGGERS = 200
WINDOW_SECONDS = 20
KILL_AFTER_SECONDS = 6


def _seconds(start: datetime, end: datetime) -> list[datetime]:
    return [start + timedelta(seconds=n) for n in range(int((end - start).total_seconds()))]


@pytest.mark.exclusive
def test_each_trigger_fires_once_when_the_leader_dies_mid_minute(
    tmp_path: Path, pg_url_factory: list[str]
) -> None:
    url = pg.create_database()
    pg_url_factory.append(url)
    first = ServerProcess(data_dir=tmp_path / "a", database_url=url).start()
    nodes = [first] + [
        ServerProcess(data_dir=tmp_path / name, database_url=url, api_key=first.api_key).start()
        for name in ("b", "c")
    ]
    try:
        leader = scheduler_leader(url, nodes)
        follower = next(n for n in nodes if n is not leader)
        with follower.client() as api:
            robot = make_robot(api)
            process = make_process(api)

        def create(index: int) -> str:
            with follower.client() as client:
                body = {
                    "Name": f"multi-{index}-{uuid.uuid4().hex[:6]}",
                    "ProcessingType": 2,
                    "CronTab": f"{index % 60} * * * * *",
                    "RobotId": robot,
                    "WhenBusy": "fewest_pending",
                    "ProcessId": process,
                }
                return str(ok(client.post("/api/schedule/create", json=body))["guid"])

        with ThreadPoolExecutor(4) as pool:
            guids = list(pool.map(create, range(TRIGGERS)))
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        end = start + timedelta(seconds=WINDOW_SECONDS)
        time.sleep(
            (start + timedelta(seconds=KILL_AFTER_SECONDS) - datetime.now(UTC)).total_seconds()
        )
        leader.kill()
        time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 2)
        for node in nodes:
            node.stop()  # what they wrote is final before it is counted
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            fires = conn.execute(
                "SELECT t.guid, f.scheduled_at, f.reason, f.outcome, f.job_id "
                "FROM trigger_fires f JOIN triggers t ON t.id = f.trigger_id"
            ).fetchall()
            jobs = dict(
                conn.execute(
                    "SELECT t.guid, count(j.id) FROM triggers t "
                    "LEFT JOIN jobs j ON j.schedule_id = t.id GROUP BY t.guid"
                ).fetchall()
            )
        # Exactly one job per trigger per fire time: a job for each created fire, no other.
        assert all(outcome == "created" and job for _, _, _, outcome, job in fires)
        per_trigger = Counter(guid for guid, *_ in fires)
        assert jobs == {guid: per_trigger[guid] for guid in guids}
        fired = [(guid, at) for guid, at, *_ in fires]
        assert len(set(fired)) == len(fired)
        # Every fire time in the window fired, on time or late, never as a missed fire.
        expected = {
            (guid, at)
            for index, guid in enumerate(guids)
            for at in _seconds(start, end)
            if at.second == index % 60
        }
        in_window = {(g, at) for g, at in fired if start <= at < end}
        assert in_window == expected
        assert {reason for _, at, reason, *_ in fires if start <= at < end} == {"schedule"}
    finally:
        for node in nodes:
            node.stop()
