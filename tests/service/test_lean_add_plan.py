"""The lean add on a queue demanding unique names (db.task_statements.adding) looks the names
up by the account's (account_id, name) index, a keyed add its keys by the account's
unique (account_id, idempotency_key) index and an add of the client's GUIDs those by the
unique GUID index, under a GENERIC plan, the one PostgreSQL switches
a prepared statement to after five runs: on a queue of 30,000 tasks, no Seq Scan on tasks.
The add itself unnests its arrays (no table read); an add of one task, given its values
rather than arrays, likewise. No timing is asserted: the plan is."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from robofleet.server.db.task_statements import adding
from tests.service.conftest import Service
from tests.service.test_one_trip_plans import TASKS, _generic_plan


@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize(("keyed", "guided"), [(False, False), (True, False), (False, True)])
def test_the_unique_add_finds_names_by_index_under_a_generic_plan(
    pg_service: Service, keyed: bool, guided: bool, single: bool
) -> None:
    response = pg_service.admin.post("/api/queue/create", json={"Name": "big", "UniqueTasks": True})
    assert response.status_code == 200, response.text
    engine = pg_service.runtime.db.engine
    with engine.begin() as connection:
        queue_id, account_id = connection.execute(
            text("SELECT id, account_id FROM queues WHERE name = 'big'")
        ).one()
        connection.execute(
            text(
                "INSERT INTO tasks (guid, account_id, queue_id, name, unique_name, description, "
                "comment, parameters, priority, rank, tags, status, deadline_key, retries, "
                "is_deleted, status_changed_at, created_at, updated_at, error_type, "
                "error_message, error_details, idempotency_key, request_digest) "
                "SELECT gen_random_uuid(), :account, :queue, 't' || n, 't' || n, '', '', "
                "'{}', 2, 20, '', 0, '9999-12-31', 0, false, now(), now(), now(), '', '', '', "
                "'k' || n, md5(n::text) "
                "FROM generate_series(1, :tasks) AS n"
            ),
            {"account": account_id, "queue": queue_id, "tasks": TASKS},
        )
        connection.execute(text("ANALYZE tasks"))
    statement = adding.add_on_postgresql(
        full=True, notify=True, unique=True, keyed=keyed, guided=guided, single=single
    )
    values = {name: None for name in statement.compile().params}
    values.update(p_account_id=account_id, p_queue_id=queue_id)
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plan = _generic_plan(connection, statement, values)
    assert "Seq Scan" not in plan, plan
    assert "ix_tasks_account_name" in plan, plan
    assert ("ix_tasks_idempotency_key" in plan) == keyed, plan
    assert ("uq_tasks_guid" in plan) == guided, plan
