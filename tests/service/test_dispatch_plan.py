"""The job pick (db.claims.next_job_for_robot) walks ix_jobs_pick, an index in the take order
(account, priority DESC, id), and stops at the first job the robot may take, under a GENERIC
plan (the plan a prepared statement switches to after five runs): with 30,000 pending jobs
across priorities (and 30,000 ended and some deleted pending ones), no Sort of the account's
pending jobs and no Seq Scan on jobs. On SQLite, the same data: the pick searches that index
and builds no temporary B-tree for the order. Before migration 0013 the index was (account,
priority, id), in neither direction the take order, and every pick sorted all pending jobs.

The same data checks the order is unchanged: best priority, then oldest. No timing is
asserted: the plan is (and, run, how many index rows the pick read)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Select, text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import Session

from robofleet.server.db import claims
from robofleet.server.db.dialect import dialect_named
from tests.service.conftest import Service, make_tenant
from tests.service.test_lean_heartbeat_plan import _copies
from tests.service.test_one_trip_plans import _literal
from tests.support.fleet import create_job, make_process, make_robot

ROWS = 30_000
PRIORITIES = 3


def _explain_generic(
    connection: Connection, statement: Select[Any], values: dict[str, Any], *, analyze: bool
) -> str:
    """EXPLAIN of `statement` prepared and planned generically; with `analyze` it runs (the
    caller rolls back: the pick locks its row) and the plan shows the rows each node read."""
    compiled = statement.compile(dialect=PGDialect_psycopg(paramstyle="numeric_dollar"))
    expanded = compiled.construct_expanded_state(values)
    name = f"plan_{uuid.uuid4().hex[:8]}"
    connection.exec_driver_sql(f"PREPARE {name} AS {expanded.statement}")
    arguments = ", ".join(_literal(value) for value in expanded.positional_parameters)
    options = "ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF" if analyze else "COSTS OFF"
    rows = connection.exec_driver_sql(f"EXPLAIN ({options}) EXECUTE {name}({arguments})")
    return "\n".join(row[0] for row in rows)


def _sqlite_copies(
    connection: Connection, template: int, rows: int, changes: dict[str, str]
) -> None:
    """tests.service.test_lean_heartbeat_plan._copies of a job, in SQLite's SQL."""
    columns = [
        name
        for (name,) in connection.execute(text("SELECT name FROM pragma_table_info('jobs')"))
        if name not in ("id", "guid")
    ]
    chosen = ", ".join(changes.get(name, name) for name in columns)
    connection.execute(
        text(
            f"WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series "
            f"WHERE n < :rows) INSERT INTO jobs (guid, {', '.join(columns)}) "
            f"SELECT lower(hex(randomblob(16))), {chosen} FROM jobs, series WHERE id = :template"
        ),
        {"rows": rows, "template": template},
    )


def _fill(service: Service) -> tuple[dict[str, Any], int]:
    """A robot and its account (the pick's values), and the job it should take, among 30,000
    ended jobs, 1,000 deleted pending jobs of the best priority, then 30,000 pending jobs of
    priorities 1..3, mixed, any robot's."""
    tenant = make_tenant(service)
    robot = make_robot(tenant.api)
    create_job(tenant.api, make_process(tenant.api))  # the template of the copies
    engine = service.runtime.db.engine
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        robot_id, account_id = connection.execute(
            text("SELECT id, account_id FROM robots WHERE guid = :guid"), {"guid": robot}
        ).one()
        job_id = connection.execute(
            text("SELECT id FROM jobs WHERE account_id = :account"), {"account": account_id}
        ).scalar_one()
        for rows, changes in (
            (ROWS, {"status": "4"}),
            (1_000, {"priority": str(PRIORITIES), "is_deleted": "true" if postgres else "1"}),
            (ROWS, {"priority": f"1 + n % {PRIORITIES}"}),
        ):
            if postgres:
                _copies(connection, "jobs", job_id, rows, changes)
            else:
                _sqlite_copies(connection, job_id, rows, changes)
        connection.execute(text("ANALYZE jobs"))
        expected = connection.execute(
            text(
                "SELECT id FROM jobs WHERE account_id = :account AND status = 1 "
                "AND NOT is_deleted AND priority = :best ORDER BY id LIMIT 1"
            ),
            {"account": account_id, "best": PRIORITIES},
        ).scalar_one()
    return {"p_account": account_id, "p_robot": robot_id}, expected


def _check_the_pick(service: Service, values: dict[str, Any], expected: int) -> None:
    """The pick takes the oldest job of the best priority."""
    with Session(service.runtime.db.engine) as session:
        job = claims.next_job_for_robot(
            session, account_id=values["p_account"], robot_id=values["p_robot"]
        )
        assert job is not None
        assert (job.id, job.priority) == (expected, PRIORITIES)
        session.rollback()


def test_the_pick_walks_the_take_order_index_and_stops_early(pg_service: Service) -> None:
    values, expected = _fill(pg_service)
    engine = pg_service.runtime.db.engine
    pick = claims._next_job(dialect_named("postgresql"))
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plan = _explain_generic(connection, pick, values, analyze=False)
        run = _explain_generic(connection, pick, values, analyze=True)
        connection.rollback()
    assert "Seq Scan on jobs" not in plan, plan
    assert "Sort" not in plan, plan  # the index gives the order
    assert "Index Scan using ix_jobs_pick on jobs" in plan, plan
    assert plan.lstrip().startswith("Limit"), plan  # the literal LIMIT 1, known to the plan
    # Run: the index scan stops at the first row the robot may take.
    scan = next(line for line in run.splitlines() if "ix_jobs_pick" in line)
    assert "rows=1 loops=1" in scan, run
    _check_the_pick(pg_service, values, expected)


def test_the_pick_searches_the_take_order_index_on_sqlite(own_service: Service) -> None:
    values, expected = _fill(own_service)
    engine = own_service.runtime.db.engine
    compiled = claims._next_job(dialect_named("sqlite")).compile(dialect=engine.dialect)
    parameters = compiled.construct_params(values)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}",
            tuple(parameters[name] for name in compiled.positiontup or ()),
        )
        plan = "\n".join(str(row[3]) for row in rows)
    assert "SEARCH jobs USING INDEX ix_jobs_pick (account_id=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # the index gives the order
    _check_the_pick(own_service, values, expected)
