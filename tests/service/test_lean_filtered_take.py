"""A filtered take (tags, name, priority, age; docs/queues.md) is lean on both stores
(services.tasks.on_driver on PostgreSQL: one statement on the driver pool; lean_sqlite on
SQLite: no ORM session), its filter's values bound in a statement prepared per shape of
filter (db.task_statements.take_filters), and takes what the session path takes: twin queues
filled alike, one taken from on the lean path, the other on the session path (its queue
rules forgotten before each take, so nothing lean answers)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import column, select, table
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from starlette.testclient import TestClient

from robofleet.server.db.driver_pool import DriverPool
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.tables import QueueRow
from robofleet.server.db.task_statements import one_trip
from robofleet.server.db.task_statements.take_filters import filter_shape
from robofleet.server.services.tasks import on_driver
from tests.service.conftest import Service, Tenant, make_tenant
from tests.service.lean_paths import (
    Paths,
    forget_queues,
    new_queue,
    post,
    robot_client,
)
from tests.service.test_one_trip_plans import api_take_values
from tests.support.fleet import create_job, make_process, make_robot, robot_auth

_PREPARED_STATEMENTS = PreparedStatement(
    select(column("statement")).select_from(table("pg_prepared_statements")),
    PGDialect_psycopg(),
    server_prepared=False,
)

FIRST = [
    {"Name": "INV-1", "Tags": "eu;paid", "Priority": 1},
    {"Name": "INV-2", "Tags": "us", "Priority": 2},
    {"Name": "inv_3", "Tags": "eu;manual", "Priority": 3},
    {"Name": "PO-4", "Tags": "eu", "Priority": 2},
    {"Name": "INV-5%", "Tags": "us;manual", "Priority": 1},
]
LATER = [
    {"Name": "INV-6", "Tags": "eu", "Priority": 3},
    {"Name": "PO-7", "Tags": "us;paid", "Priority": 1},
    {"Name": "INV-8", "Tags": "eu;paid", "Priority": 2},
]

FILTERS: list[dict[str, Any]] = [
    {"Tags": "+eu"},
    {"Tags": "+eu;-manual"},
    {"Tags": "-eu;-paid"},
    {"Tags": "eu;paid"},  # no sign: must carry it
    {"Name": "INV-*"},
    {"Name": "inv_?"},  # `_` is a character of the name, `?` any one
    {"Name": "INV-5%"},  # `%` too
    {"Priority": [1, 3]},
    {"Priority": [2]},
    {"Tags": "+eu", "Name": "INV*", "Priority": [1, 2, 3]},
    {"CreatedAfter": "<between>"},
    {"CreatedAfter": "<between>", "Tags": "+paid"},
]


def _filled(tenant: Tenant, between: list[str]) -> tuple[str, str]:
    """Twin queues: the FIRST tasks in both, a moment (`between`), then the LATER ones."""
    twins = (new_queue(tenant), new_queue(tenant))
    for queue in twins:
        post(tenant.api, "/api/task/bulkCreate", {"Queue": queue, "Tasks": FIRST})
    time.sleep(0.05)
    between.append(datetime.now(UTC).isoformat())
    time.sleep(0.05)
    for queue in twins:
        post(tenant.api, "/api/task/bulkCreate", {"Queue": queue, "Tasks": LATER})
    return twins


def _names(tasks: list[dict[str, Any]]) -> list[str]:
    return [task["name"] for task in tasks]


def _take(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(post(client, "/api/task/take", body)["tasks"])


@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items())
)
def test_a_filtered_take_is_lean_and_takes_what_the_session_path_takes(
    store_service: Service, store_tenant: Tenant, paths: Paths, filters: dict[str, Any]
) -> None:
    robot = robot_client(store_tenant)
    between: list[str] = []
    lean_queue, session_queue = _filled(store_tenant, between)
    body = {k: between[0] if v == "<between>" else v for k, v in filters.items()}
    _take(robot, {"Queue": lean_queue, "Name": "nothing-is-called-this"})  # caches the queue
    taken: dict[str, list[str]] = {"lean": [], "session": []}
    for _ in range(len(FIRST) + len(LATER)):  # one at a time, in take order, till none is left
        paths.since()
        lean = _take(robot, {"Queue": lean_queue, "Count": 1, **body})
        assert paths.answered() == "lean"
        forget_queues(store_service)
        session = _take(robot, {"Queue": session_queue, "Count": 1, **body})
        assert paths.answered() == "session"
        _take(robot, {"Queue": lean_queue, "Name": "nothing-is-called-this"})  # cached again
        taken["lean"] += _names(lean)
        taken["session"] += _names(session)
        if not lean and not session:
            break
    assert taken["lean"] == taken["session"]
    assert taken["lean"], "the filter matched no task: the case proves nothing"
    everything = len(FIRST) + len(LATER)
    assert len(taken["lean"]) < everything or not filters


def test_a_robots_filtered_take_for_its_job_is_lean(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    api = store_tenant.api
    robot = make_robot(api)
    job = str(create_job(api, make_process(api), Robot=robot)["guid"])
    client = store_tenant.client(**robot_auth(robot))  # not `with`: the app's lifespan stays
    consumed = post(client, "/api/robot/consumeNextJob", {"RobotGUID": robot})
    assert consumed["ConsumeJobErrorCode"] == 0
    client.put("/api/job/update", json={"Guid": job, "Status": 8})
    queue, _ = _filled(store_tenant, [])
    _take(client, {"Queue": queue, "Name": "nothing-is-called-this"})  # caches the queue
    paths.since()
    named = _take(client, {"Queue": queue, "Job": job, "Tags": "+eu;-manual", "Count": 10})
    assert paths.answered() == "lean"
    assert _names(named) == ["INV-6", "PO-4", "INV-8", "INV-1"]  # higher priority first
    assert {task["job_guid"] for task in named} == {job}
    running = _take(client, {"Queue": queue, "Priority": [1], "Count": 10})
    assert paths.answered() == "lean"
    assert sorted(_names(running)) == ["INV-5%", "PO-7"]
    assert {task["job_guid"] for task in running} == {job}  # the robot's running job


def test_a_filter_naming_many_tags_is_left_to_the_take_on_a_worker_thread(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    robot = robot_client(store_tenant)
    queue, _ = _filled(store_tenant, [])
    _take(robot, {"Queue": queue, "Name": "nothing-is-called-this"})
    paths.since()
    taken = _take(robot, {"Queue": queue, "Tags": "+eu;-a;-b;-c;-d", "Count": 10})
    # Not on the driver pool; on PostgreSQL leases.take_tasks's one statement in a worker
    # thread (no ORM session), on SQLite the session path.
    statements, sessions = paths.since()
    assert statements == 0
    assert sessions == (0 if store_service.runtime.driver_pool is not None else 1)
    assert sorted(_names(taken)) == ["INV-1", "INV-6", "INV-8", "PO-4", "inv_3"]


def test_a_filtered_take_is_planned_for_its_values_and_never_prepared(pg_service: Service) -> None:
    """A take from the whole queue is a prepared statement (its generic plan is checked in
    tests/service/test_one_trip_plans.py); a filtered one is not, on a connection of the
    lean pool, however often it runs: PostgreSQL plans it for the filter's values."""
    tenant = make_tenant(pg_service)
    queue, _ = _filled(tenant, [])
    runtime = pg_service.runtime
    with runtime.db.read() as session:
        queue_id = session.scalar(select(QueueRow.id).where(QueueRow.guid == queue))
    assert queue_id is not None
    narrowed = filter_shape(tags="+eu;-manual", name="INV-*", priority=[2, 3], created_after=None)
    assert narrowed is not None
    shape, filter_values = narrowed
    pool = DriverPool(runtime.db.engine, min_size=1, max_size=1)  # one connection to look at

    async def run_and_look() -> tuple[list[str], int]:
        await pool.open()
        try:
            taken = 0
            for _ in range(8):
                params = {**api_take_values(queue_id, datetime.now(UTC)), **filter_values}
                statement = one_trip.take_from_queue(1, shape)
                taken += len(await on_driver._run(runtime, pool, statement, params, filtered=True))
                unfiltered = one_trip.take_from_queue(0)
                params = api_take_values(queue_id, datetime.now(UTC))
                await on_driver._run(runtime, pool, unfiltered, params)
            prepared = await pool.run(_PREPARED_STATEMENTS, {})
            # Less the look itself (asyncpg prepares every statement it runs).
            texts = [str(row[0]) for row in prepared]
            return [text for text in texts if "pg_prepared_statements" not in text], taken
        finally:
            await pool.close()

    texts, taken = pg_service.admin.portal.call(run_and_look)
    assert taken == 2  # INV-6 (3) and INV-8 (2): the values were bound, not ignored
    assert len(texts) == 1 and "LIKE" not in texts[0].upper(), texts  # the unfiltered take
