"""A server node that runs no scheduler (ROBOFLEET_SCHEDULER_ENABLED=false) still announces
the tasks added through it to the queues the leader's triggers watch (NOTIFY
robofleet_tasks), so a queue trigger answers them through the wake-up path, not at the
leader's periodic re-check."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from tests.support import pg
from tests.support.fleet import make_process, make_robot
from tests.support.queues import add, make_queue
from tests.support.resources import ok
from tests.support.server import ServerProcess

CHANNEL = "robofleet_tasks"


@pytest.mark.slow
def test_tasks_added_on_a_node_without_scheduler_wake_the_leader(
    tmp_path: Path, pg_url_factory: list[str]
) -> None:
    url = pg.create_database()
    pg_url_factory.append(url)
    leader = ServerProcess(data_dir=tmp_path / "leader", database_url=url).start()
    api_only = ServerProcess(
        data_dir=tmp_path / "api",
        database_url=url,
        api_key=leader.api_key,
        env={"ROBOFLEET_SCHEDULER_ENABLED": "false"},
    ).start()
    try:
        with leader.client() as api:
            queue = make_queue(api)
            ok(
                api.post(
                    "/api/schedule/create",
                    json={
                        "Name": f"queue-{uuid.uuid4().hex[:6]}",
                        "ProcessingType": 1,
                        "ProcessId": make_process(api),
                        "RobotId": make_robot(api),
                        "WhenBusy": "fewest_pending",
                        "Queue": queue,
                        "QueueCondition": {"MinNewTasks": 0, "TasksPerJob": 1},
                    },
                )
            )
            queue_id = ok(api.get(f"/api/queue/read/{queue}"))["id"]
        heard: list[str] = []
        with (
            psycopg.connect(
                url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
            ) as listener,
            api_only.client() as other,
        ):
            listener.execute(f'LISTEN "{CHANNEL}"')
            # The node learns the watched queues every 2 s: add until an add is announced.
            for n in range(15):
                add(other, queue, f"t{n}")
                heard += [note.payload for note in listener.notifies(timeout=1.0)]
                if heard:
                    break
        assert heard and set(heard) == {str(queue_id)}
    finally:
        api_only.stop()
        leader.stop()
