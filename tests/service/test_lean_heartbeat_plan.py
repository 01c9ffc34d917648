"""The lean heartbeat's one statement on PostgreSQL (db.robot_statements) stays on the
indexes under a GENERIC plan (the plan a prepared statement switches to after five runs):
with 100 robots, 30,000 ended jobs and 30,000 tasks leased among them, no Seq Scan on jobs
or tasks. No timing is asserted: the plan is."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, text

from robofleet.server.db.robot_statements import postgres_heartbeat
from tests.service.conftest import Service, make_tenant
from tests.service.test_one_trip_plans import _generic_plan
from tests.support.fleet import create_job, make_process, make_robot
from tests.support.queues import add, make_queue

ROWS = 30_000
ROBOTS = 100


def _copies(
    connection: Connection, table: str, template: int, rows: int, changes: dict[str, str]
) -> None:
    """`rows` copies of the table's row `template` (`n` numbers them), with fresh ids and
    GUIDs and `changes` applied."""
    columns = [
        name
        for (name,) in connection.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = :table AND column_name NOT IN ('id', 'guid')"
            ),
            {"table": table},
        )
    ]
    chosen = ", ".join(changes.get(name, name) for name in columns)
    connection.execute(
        text(
            f"INSERT INTO {table} (guid, {', '.join(columns)}) "
            f"SELECT gen_random_uuid(), {chosen} "
            f"FROM {table}, generate_series(1, :rows) AS n WHERE id = :template"
        ),
        {"rows": rows, "template": template},
    )
    connection.execute(text(f"ANALYZE {table}"))


def test_the_heartbeat_stays_on_the_indexes_under_a_generic_plan(pg_service: Service) -> None:
    tenant = make_tenant(pg_service)
    robot, other = make_robot(tenant.api), make_robot(tenant.api)
    create_job(tenant.api, make_process(tenant.api), Robot=other)
    add(tenant.api, make_queue(tenant.api), "leased")
    engine = pg_service.runtime.db.engine
    with engine.begin() as connection:
        robot_id, account_id = connection.execute(
            text("SELECT id, account_id FROM robots WHERE guid = :guid"), {"guid": robot}
        ).one()
        other_id = connection.execute(
            text("SELECT id FROM robots WHERE guid = :guid"), {"guid": other}
        ).scalar_one()
        job_id = connection.execute(text("SELECT id FROM jobs")).scalar_one()
        task_id = connection.execute(text("SELECT id FROM tasks")).scalar_one()
        # Names are unique among live robots.
        _copies(connection, "robots", other_id, ROBOTS, {"name": "'r' || n"})
        spread = f"{other_id} + n % {ROBOTS + 1}"  # the other robot and its copies
        _copies(connection, "jobs", job_id, ROWS, {"status": "4", "robot_id": spread})
        _copies(
            connection,
            "tasks",
            task_id,
            ROWS,
            {"status": "1", "lease_robot_id": spread, "name": "'t' || n"},
        )
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plan = _generic_plan(
            connection,
            postgres_heartbeat(),
            {
                "p_robot": robot_id,
                "p_account": account_id,
                "p_now": datetime.now(UTC),
                "p_status": 2,
                "p_machine": "m",
                "p_ip": None,
                "p_mac": None,
                "p_version": None,
            },
        )
        connection.rollback()
    for table in ("jobs", "tasks"):
        assert f"Seq Scan on {table}" not in plan, plan
