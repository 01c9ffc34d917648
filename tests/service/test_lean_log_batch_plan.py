"""The lean log batch's one statement (db.log_statements.postgres_batch) keeps to the indexes
under a GENERIC plan, the plan PostgreSQL switches a prepared statement to after five runs:
with 20,000 jobs and 5,000 versions no Seq Scan on either (the job is found by its GUID, its
version and the job's update by id). No timing is asserted: the plan is."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Table, text

from robofleet.server.db import log_statements
from robofleet.server.db.tables import JobRow, ProcessVersionRow
from tests.service.conftest import Service
from tests.service.test_one_trip_plans import _generic_plan
from tests.support.fleet import create_job, make_process, make_robot

JOBS = 20_000
VERSIONS = 5_000


def _copy(connection: Connection, table: Table, guid: str, count: int) -> None:
    """`count` copies of a row under new GUIDs (the table's own column names)."""
    listed = ", ".join(c.name for c in table.columns if c.name not in ("id", "guid"))
    connection.execute(
        text(
            f"INSERT INTO {table.name} ({listed}, guid) "
            f"SELECT {listed}, gen_random_uuid() FROM {table.name}, "
            "generate_series(1, :count) WHERE guid = :guid"
        ),
        {"count": count, "guid": guid},
    )


def test_the_batch_stays_on_the_indexes_under_a_generic_plan(pg_service: Service) -> None:
    api = pg_service.admin
    robot = make_robot(api)
    job = create_job(api, make_process(api), Robot=robot)
    version = api.get(f"/api/job/read/{job['guid']}").json()["process_version_guid"]
    engine = pg_service.runtime.db.engine
    with engine.begin() as connection:
        _copy(connection, cast(Table, JobRow.__table__), job["guid"], JOBS)
        _copy(connection, cast(Table, ProcessVersionRow.__table__), version, VERSIONS)
        account_id, robot_id = connection.execute(
            text("SELECT account_id, id FROM robots WHERE guid = :guid"), {"guid": robot}
        ).one()
        connection.execute(text("ANALYZE jobs"))
        connection.execute(text("ANALYZE process_versions"))
    now = datetime.now(UTC)
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plan = _generic_plan(
            connection,
            log_statements.postgres_batch(),
            {
                "p_account": account_id,
                "p_robot": robot_id,
                "p_now": now,
                "p_job_guid": job["guid"],
                "p_version_guid": str(uuid.uuid4()),
                "p_job_named": True,
                "p_version_named": True,
                "p_lines": json.dumps(
                    [
                        {"n": n, "guid": str(uuid.uuid4()), "level": level, "message": message}
                        | {"fields": fields, "time": now.isoformat()}
                        for n, (level, message, fields) in enumerate(
                            [("Info", "one", "{}"), ("Error", "two", '{"k": 1}')]
                        )
                    ]
                ),
                "p_last_message": "two",
                "p_announce": True,
                "p_channel": "robofleet_logs",
                "p_payload": f"{account_id}:0",
            },
        )
    assert "Seq Scan" not in plan, plan
    assert "Index Scan" in plan, plan
