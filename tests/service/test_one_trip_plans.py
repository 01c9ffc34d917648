"""The one-statement take (naming a job or not), finish and renew (db.task_statements.one_trip)
keep to the indexes under a GENERIC plan, the plan PostgreSQL switches a prepared statement
to after five runs: on a queue of 30,000 tasks no Seq Scan on tasks. (Written `id IN (SELECT
...)`, the take's generic plan may join by a full scan instead: 6.6 ms a take instead of
0.12.) And PostgreSQL keeps that generic plan for the lean take instead of planning each run
anew. No timing is asserted: the plan is."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, column, select, table, text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from robofleet.server.db.driver_pool import DriverPool
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.task_statements import one_trip
from robofleet.server.services.tasks import on_driver
from tests.service.conftest import Service

TASKS = 30_000

_PLAN_COUNTS = PreparedStatement(
    select(column("statement"), column("generic_plans"), column("custom_plans")).select_from(
        table("pg_prepared_statements")
    ),
    PGDialect_psycopg(),
    server_prepared=False,
)


def _generic_plan(connection: Connection, statement: Select[Any], values: dict[str, Any]) -> str:
    """EXPLAIN of `statement` prepared and planned generically (no ANALYZE: nothing runs)."""
    compiled = statement.compile(dialect=PGDialect_psycopg(paramstyle="numeric_dollar"))
    expanded = compiled.construct_expanded_state(values)
    name = f"plan_{uuid.uuid4().hex[:8]}"
    connection.exec_driver_sql(f"PREPARE {name} AS {expanded.statement}")
    arguments = ", ".join(_literal(value) for value in expanded.positional_parameters)
    rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE {name}({arguments})")
    return "\n".join(row[0] for row in rows)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):  # an array parameter, as PostgreSQL's text form of one
        items = ",".join(
            "NULL" if item is None else '"' + str(item).replace('"', '\\"') + '"' for item in value
        )
        return "'{" + items + "}'"
    return "'" + str(value).replace("'", "''") + "'"


def api_take_values(queue_id: int, now: datetime) -> dict[str, Any]:
    """The parameters of an API caller's unfiltered take (one_trip.take_from_queue)."""
    return {
        "p_queue_id": queue_id,
        "p_now": now,
        "p_job_id": None,
        "p_robot_job": 0,
        "p_lease_id": str(uuid.uuid4()),
        "p_lease_owner": "apikey:x",
        "p_lease_robot_id": None,
        "p_lease_seconds": 300,
        "p_lease_expires_at": now,
        "p_actor": "bench",
        "p_reason": "taken",
    }


def _big_queue(pg_service: Service) -> tuple[int, int]:
    """A queue of TASKS New tasks, analyzed: its id and account's."""
    response = pg_service.admin.post("/api/queue/create", json={"Name": "big"})
    assert response.status_code == 200, response.text
    engine = pg_service.runtime.db.engine
    with engine.begin() as connection:
        queue_id, account_id = connection.execute(
            text("SELECT id, account_id FROM queues WHERE name = 'big'")
        ).one()
        connection.execute(
            text(
                "INSERT INTO tasks (guid, account_id, queue_id, name, description, comment, "
                "parameters, priority, rank, tags, status, deadline_key, retries, is_deleted, "
                "status_changed_at, created_at, updated_at, error_type, error_message, "
                "error_details) "
                "SELECT gen_random_uuid(), :account, :queue, 't' || n, '', '', '{}', 2, "
                "20, '', 0, '9999-12-31', 0, false, now(), now(), now(), '', '', '' "
                "FROM generate_series(1, :tasks) AS n"
            ),
            {"account": account_id, "queue": queue_id, "tasks": TASKS},
        )
        connection.execute(text("ANALYZE tasks"))
    return int(queue_id), int(account_id)


def test_take_finish_and_renew_stay_on_the_indexes_under_a_generic_plan(
    pg_service: Service,
) -> None:
    queue_id, account_id = _big_queue(pg_service)
    engine = pg_service.runtime.db.engine
    now = datetime.now(UTC)
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        take = _generic_plan(
            connection, one_trip.take_from_queue(1), api_take_values(queue_id, now)
        )
        finish_values = {
            "p_guids": [str(uuid.uuid4())],
            "p_account_id": account_id,
            "p_lease_id": str(uuid.uuid4()),
            "p_now": now,
            "p_status": 2,
            "p_postponed_until": None,
            "p_actor": "bench",
            "p_reason": "finished",
        }
        finish = _generic_plan(
            connection,
            one_trip.finish_cte(set_output=False, set_error=False, finished=True),
            finish_values,
        )
        batch = _generic_plan(
            connection,
            one_trip.finish_cte(set_output=False, set_error=False, finished=True, guids_only=True),
            {**finish_values, "p_guids": [str(uuid.uuid4()) for _ in range(50)]},
        )
        failure = _generic_plan(
            connection,
            one_trip.finish_cte(
                set_output=False, set_error=True, finished=True, unless_retried=True
            ),
            {
                **finish_values,
                "p_status": 3,
                "p_error_type": "Application",
                "p_error_message": "m",
                "p_error_details": "",
            },
        )
        take_values = {
            "p_queue_id": queue_id,
            "p_now": now,
            "p_lease_id": str(uuid.uuid4()),
            "p_lease_owner": "robot:x",
            "p_lease_robot_id": 1,
            "p_lease_seconds": 300,
            "p_lease_expires_at": now,
            "p_actor": "bench",
            "p_reason": "taken",
            "p_account_id": account_id,
            "p_scope_robot_id": 1,
        }
        for_job = [
            _generic_plan(
                connection,
                one_trip.take_for_job(kind, 1, robot_scoped=True),
                {**take_values, "p_job_ref": ref},
            )
            for kind, ref in (("guid", str(uuid.uuid4())), ("id", 1))
        ]
        renew = _generic_plan(
            connection,
            one_trip.renew_cte(),
            {
                "p_guids": [str(uuid.uuid4()), str(uuid.uuid4())],
                "p_account_id": account_id,
                "p_lease_id": str(uuid.uuid4()),
                "p_lease_seconds": None,
                "p_now": now,
            },
        )
        connection.rollback()
    for plan in (take, finish, batch, failure, *for_job, renew):
        assert "Seq Scan" not in plan, plan  # on tasks, nor on the jobs and queues it names
    for plan in (take, *for_job):
        assert "ix_tasks_take" in plan, plan  # the pick walks the take index


def test_a_group_of_takes_stays_on_the_indexes_under_a_generic_plan(pg_service: Service) -> None:
    queue_id, _ = _big_queue(pg_service)
    now = datetime.now(UTC)
    members = 8
    values: dict[str, Any] = {
        "p_queue_id": queue_id,
        "p_now": now,
        "p_reason": "taken",
        "p_lease_ids": [str(uuid.uuid4()) for _ in range(members)],
        "p_lease_owners": ["robot:x"] * members,
        "p_lease_robot_ids": [1, None] * (members // 2),
        "p_lease_seconds": [300] * members,
        "p_lease_expires": [now] * members,
        "p_actors": ["bench"] * members,
        "p_robot_jobs": [1, 0] * (members // 2),
    }
    with pg_service.runtime.db.engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plan = _generic_plan(connection, one_trip.group_take(members), values)
        connection.rollback()
    assert "Seq Scan" not in plan, plan  # on tasks, nor on the jobs and queues it names
    assert "ix_tasks_take" in plan, plan  # the pick walks the take index
    assert "pk_tasks" in plan, plan  # and the UPDATE finds the picked rows by primary key


def test_a_group_of_finishes_stays_on_the_indexes_under_a_generic_plan(
    pg_service: Service,
) -> None:
    _, account_id = _big_queue(pg_service)
    members = 8
    values = {
        "p_guids": [str(uuid.uuid4()) for _ in range(members)],
        "p_lease_ids": [str(uuid.uuid4()) for _ in range(members)],
        "p_actors": ["bench"] * members,
        "p_account_id": account_id,
        "p_now": datetime.now(UTC),
        "p_status": 2,
        "p_postponed_until": None,
        "p_reason": "finished",
    }
    with pg_service.runtime.db.engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plans = [
            _generic_plan(
                connection,
                one_trip.group_finish(finished=True, unless_retried=unless_retried),
                values,
            )
            for unless_retried in (False, True)
        ]
        connection.rollback()
    for plan in plans:
        assert "Seq Scan" not in plan, plan
        assert "uq_tasks_guid" in plan, plan  # each member's task found by its GUID


def _plans_after_12_runs(
    pg_service: Service, one_run: Callable[[DriverPool], Awaitable[None]]
) -> list[tuple[Any, ...]]:
    """pg_prepared_statements (statement, generic plans, custom plans) of one pooled
    connection after `one_run` ran 12 times on it."""
    pool = DriverPool(pg_service.runtime.db.engine, min_size=1, max_size=1)

    async def run_and_look() -> list[tuple[Any, ...]]:
        await pool.open()
        try:
            for _ in range(12):
                await one_run(pool)
            return await pool.run(_PLAN_COUNTS, {})
        finally:
            await pool.close()

    return pg_service.admin.portal.call(run_and_look)


def _kept_generic(counts: list[tuple[Any, ...]], marker: str) -> None:
    """The one statement whose text holds `marker` went generic after its five custom plans."""
    plans = [(generic, custom) for text_, generic, custom in counts if marker in text_]
    assert len(plans) == 1, counts
    generic, custom = plans[0]
    assert custom <= 5 and generic >= 7, plans


def test_postgresql_plans_the_lean_take_once_not_on_every_run(pg_service: Service) -> None:
    """The lean take's count is written into its statement: with `LIMIT $n` PostgreSQL costed
    the generic plan for a tenth of a long queue, judged it dearer than a custom plan, and
    planned the take anew on every run. Now, after its five custom plans, it keeps the
    generic one (which the test above keeps on the indexes)."""
    queue_id, _ = _big_queue(pg_service)
    runtime = pg_service.runtime

    async def take(pool: DriverPool) -> None:
        values = api_take_values(queue_id, datetime.now(UTC))
        taken = await on_driver._run(runtime, pool, one_trip.take_from_queue(1), values)
        assert len(taken) == 1

    _kept_generic(_plans_after_12_runs(pg_service, take), "taken")


def test_postgresql_plans_a_batch_finish_once_not_on_every_run(pg_service: Service) -> None:
    """A batch's finish names its tasks by GUID: its custom plan, given `status = 1`, walked
    the In Progress tasks' partial lease index when few were in progress, and PostgreSQL
    judged the generic plan (by GUID) dearer and planned every batch finish anew. The
    status condition no longer matches that index, so after five custom plans it keeps
    the generic one (which the test above keeps on the indexes)."""
    queue_id, account_id = _big_queue(pg_service)
    runtime = pg_service.runtime
    finish = one_trip.finish_cte(set_output=False, set_error=False, finished=True, guids_only=True)

    async def take_and_finish(pool: DriverPool) -> None:
        now = datetime.now(UTC)
        values = {
            **api_take_values(queue_id, now),
            "p_lease_expires_at": now + timedelta(minutes=5),
        }
        taken = await on_driver._run(runtime, pool, one_trip.take_from_queue(50), values)
        finish_values = {
            "p_guids": [row[1] for row in taken],
            "p_account_id": account_id,
            "p_lease_id": values["p_lease_id"],
            "p_now": datetime.now(UTC),
            "p_status": 2,
            "p_postponed_until": None,
            "p_actor": "bench",
            "p_reason": "finished",
        }
        assert len(await on_driver._run(runtime, pool, finish, finish_values)) == 50

    _kept_generic(_plans_after_12_runs(pg_service, take_and_finish), "WITH finished")
