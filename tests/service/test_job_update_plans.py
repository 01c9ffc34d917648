"""The lean job update's one statement (db.job_statements.postgres_update) keeps to the
indexes under a GENERIC plan, the plan PostgreSQL switches a prepared statement to after five
runs: with 30,000 jobs (and thousands of robots, versions and queues, and 30,000 tasks In
Progress) no Seq Scan: the job by its GUID, its version and robot by id, a failure's guard
the job's tasks through their job index. No timing is asserted: the plan is."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, text

from robofleet.server.db.job_statements import postgres_update
from robofleet.server.db.tables import JobRow, ProcessVersionRow, QueueRow, RobotRow
from robofleet.server.domain.jobs import JobStatus
from tests.service.conftest import Service
from tests.service.test_one_trip_plans import _generic_plan
from tests.support.fleet import create_job, make_process, make_robot

JOBS = 30_000


def test_the_job_update_stays_on_the_indexes_under_a_generic_plan(pg_service: Service) -> None:
    api = pg_service.admin
    robot = make_robot(api)
    job = create_job(api, make_process(api), Robot=robot)["guid"]
    columns = [c.name for c in cast(Table, JobRow.__table__).c if c.name not in ("id", "guid")]
    listed = ", ".join(columns)
    engine = pg_service.runtime.db.engine
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO jobs (guid, {listed}) SELECT gen_random_uuid(), {listed} "
                "FROM jobs, generate_series(1, :count) WHERE jobs.guid = :guid"
            ),
            {"count": JOBS, "guid": job},
        )
        # Robots and versions many enough that reading them whole is not the cheaper plan.
        for table in (RobotRow, ProcessVersionRow):
            _copy(connection, cast(Table, table.__table__), 5_000)
        _tasks_in_progress(connection, api)
        connection.execute(text("ANALYZE"))
        account_id, robot_id = connection.execute(
            text("SELECT account_id, robot_id FROM jobs WHERE guid = :guid"), {"guid": job}
        ).one()
    values: dict[str, Any] = {
        "p_guid": job,
        "p_account": account_id,
        "p_robot": robot_id,
        "p_now": datetime.now(UTC),
        "p_progress": None,
        "p_message": None,
        "p_return": None,
        "p_audit_guid": str(uuid.uuid4()),
        "p_actor_kind": "robot",
        "p_actor_guid": robot,
        "p_actor_name": "robot",
        "p_address": "",
        "p_user_agent": "",
    }
    plans = []
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        for status in (None, JobStatus.IN_PROGRESS, JobStatus.SUCCESS, JobStatus.FAILED):
            for sets_return in (False, True):
                statement = postgres_update(status, sets_return)
                used = {k: v for k, v in values.items() if sets_return or k != "p_return"}
                plans.append(_generic_plan(connection, statement, used))
        connection.rollback()
    for plan in plans:
        assert "Seq Scan" not in plan, plan
        assert "Index Scan using uq_jobs_guid on jobs" in plan, plan
    assert "ix_tasks_job" in plans[-1], plans[-1]  # a failure's guard


def _tasks_in_progress(connection: Connection, api: Any) -> None:
    """A task In Progress for each job, in one queue of a thousand (the guard of a failure,
    db.job_statements._guard, looks for them)."""
    response = api.post("/api/queue/create", json={"Name": "held", "AutoChangeStatus": True})
    assert response.status_code == 200, response.text
    _copy(connection, cast(Table, QueueRow.__table__), 1_000)
    connection.execute(
        text(
            "INSERT INTO tasks (guid, account_id, queue_id, job_id, name, description, "
            "comment, parameters, priority, rank, tags, status, deadline_key, retries, "
            "is_deleted, status_changed_at, created_at, updated_at, error_type, "
            "error_message, error_details) "
            "SELECT gen_random_uuid(), jobs.account_id, queues.id, jobs.id, "
            "'t' || jobs.id, '', '', '{}', 2, 20, '', 1, '9999-12-31', 0, false, now(), now(), "
            "now(), '', '', '' FROM jobs, queues WHERE queues.name = 'held'"
        )
    )


def _copy(connection: Connection, table: Table, count: int) -> None:
    """`count` copies of the table's first row, each with a GUID (and name) of its own."""
    columns = [c.name for c in table.c if c.name not in ("id", "guid", "name")]
    named = "name" in table.c
    listed = ", ".join(columns)
    connection.execute(
        text(
            f"INSERT INTO {table.name} (guid, {'name, ' if named else ''}{listed}) "
            f"SELECT gen_random_uuid(), {'name || n, ' if named else ''}{listed} "
            f"FROM (SELECT * FROM {table.name} ORDER BY id LIMIT 1) AS one, "
            "generate_series(1, :count) AS n"
        ),
        {"count": count},
    )
