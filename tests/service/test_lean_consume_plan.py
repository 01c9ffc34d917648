"""The lean consume's one statement on PostgreSQL (db.consume_statements) stays on the indexes
under a GENERIC plan (the plan a prepared statement switches to after five runs): with 100
robots, 30,000 ended jobs among them and 30,000 pending jobs any robot may take, no Seq Scan on
jobs, and the claim finds the picked job by its key.

The pick walks ix_jobs_pick (account_id, priority DESC, id; pending, untaken, not deleted:
migration 0013) in the dispatch order and stops at the first job the robot may take: no Sort
of the account's pending jobs. No timing is asserted: the plan is."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from robofleet.server.db.consume_statements import postgres_consume
from tests.service.conftest import Service, make_tenant
from tests.service.test_lean_heartbeat_plan import _copies
from tests.service.test_one_trip_plans import _generic_plan
from tests.support.fleet import create_job, make_process, make_robot

ROWS = 30_000
ROBOTS = 100


def test_the_consume_stays_on_the_indexes_under_a_generic_plan(pg_service: Service) -> None:
    tenant = make_tenant(pg_service)
    robot, other = make_robot(tenant.api), make_robot(tenant.api)
    create_job(tenant.api, make_process(tenant.api), Robot=other)
    engine = pg_service.runtime.db.engine
    with engine.begin() as connection:
        robot_id, account_id = connection.execute(
            text("SELECT id, account_id FROM robots WHERE guid = :guid"), {"guid": robot}
        ).one()
        other_id = connection.execute(
            text("SELECT id FROM robots WHERE guid = :guid"), {"guid": other}
        ).scalar_one()
        job_id = connection.execute(text("SELECT id FROM jobs")).scalar_one()
        _copies(connection, "robots", other_id, ROBOTS, {"name": "'r' || n"})
        spread = f"{other_id} + n % {ROBOTS + 1}"  # the other robot and its copies
        _copies(connection, "jobs", job_id, ROWS, {"status": "4", "robot_id": spread})
        _copies(connection, "jobs", job_id, ROWS, {"requested_robot_id": "NULL"})
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plan = _generic_plan(
            connection,
            postgres_consume(),
            {"p_robot": robot_id, "p_account": account_id, "p_now": datetime.now(UTC)},
        )
        connection.rollback()
    # (A hundred robots fit in a page or two: their table may be read whole, as in the
    # heartbeat's plan, tests/service/test_lean_heartbeat_plan.py.)
    assert "Seq Scan on jobs" not in plan, plan
    assert "Index Cond: (id = ANY" in plan, plan  # the claim finds the picked job by key
    assert "ix_jobs_pick" in plan and "Sort" not in plan, plan
