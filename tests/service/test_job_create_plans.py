"""The one-statement job create (db.job_create_statements.postgres_create) keeps to the
indexes under a GENERIC plan, the plan PostgreSQL switches a prepared statement to after
five runs: with 20,000 processes, robots, robot groups and tasks in the account, no Seq Scan
for a process by id, GUID or name, a robot by id or GUID, a robot group or a default task by
id, GUID or name. (A robot by name reads the account's robots, as the session path's lookup
does: robots have no name index.) No timing is asserted: the plan is."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, text

from robofleet.server.db.core_tables import PROCESSES, ROBOT_GROUPS, ROBOTS
from robofleet.server.db.job_create_statements import RefKind, postgres_create
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from tests.service.conftest import Service
from tests.service.test_one_trip_plans import _generic_plan
from tests.support.fleet import make_process, make_robot

ROWS = 20_000


def _copies(connection: Connection, table: Table, row_id: int) -> None:
    """ROWS copies of the row `row_id`, each with its own GUID and name."""
    columns = [c.name for c in table.c if c.name != "id"]
    fresh = {"guid": "gen_random_uuid()", "name": "'copy-' || n"}
    chosen = ", ".join(fresh.get(name, name) for name in columns)
    connection.execute(
        text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {chosen} "
            f"FROM {table.name}, generate_series(1, :rows) AS n WHERE id = :id"
        ),
        {"rows": ROWS, "id": row_id},
    )
    connection.execute(text(f"ANALYZE {table.name}"))


def _values(account_id: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "p_account": account_id,
        "p_channel": "robofleet_jobs",
        "p_payload_account": f"{account_id}:",
        "a_changes": "{}",
    }
    for name in (
        "j_guid",
        "j_source",
        "j_last_message",
        "a_guid",
        "a_actor_kind",
        "a_actor_guid",
        "a_actor_name",
        "a_address",
        "a_user_agent",
        "a_action",
        "a_object_type",
        "a_message",
    ):
        values[name] = str(uuid.uuid4())
    for name in ("j_status", "j_priority", "j_job_type", "j_progress", "j_account_id"):
        values[name] = 1
    for name in ("j_schedule_id", "j_stop_after"):
        values[name] = None
    values.update(j_abort_after=None, j_is_deleted=False, j_roboteasy_hidden=False)
    values.update(j_parameters="{}", a_account_id=account_id)
    for name in ("j_status_changed_at", "j_created_at", "j_updated_at", "a_at"):
        values[name] = now
    return values


def test_the_create_stays_on_the_indexes_under_a_generic_plan(pg_service: Service) -> None:
    api = pg_service.admin
    process_guid = make_process(api)
    robot_guid = make_robot(api)
    engine = pg_service.runtime.db.engine
    with engine.begin() as connection:
        process_id, account_id = connection.execute(
            text("SELECT id, account_id FROM processes WHERE guid = :g"), {"g": process_guid}
        ).one()
        robot_id = connection.execute(
            text("SELECT id FROM robots WHERE guid = :g"), {"g": robot_guid}
        ).scalar_one()
        _copies(connection, PROCESSES, process_id)
        _copies(connection, ROBOTS, robot_id)
        group_id, task_id = _group_and_task(connection, api)
        _copies(connection, ROBOT_GROUPS, group_id)
        _copies(connection, TASKS, task_id)
    refs: dict[RefKind, Any] = {"id": 1, "guid": str(uuid.uuid4()), "name": "copy-7"}
    plans: list[str] = []
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        for process_kind in ("id", "guid", "name"):
            for robot_kind in (None, "id", "guid"):
                values = {**_values(account_id), "p_process": refs[process_kind]}
                if robot_kind is not None:
                    values["p_robot"] = refs[robot_kind]
                statement = postgres_create(process_kind, robot_kind)
                plans.append(_generic_plan(connection, statement, values))
        for kind in ("id", "guid", "name"):
            values = {**_values(account_id), "p_process": 1, "p_group": refs[kind]}
            values["p_task"] = refs[kind]
            statement = postgres_create("id", None, kind, kind)
            plans.append(_generic_plan(connection, statement, values))
        connection.rollback()
    for plan in plans:
        # (process_versions holds a handful of rows here: a scan of it is the cheap plan.)
        assert "Seq Scan on processes" not in plan, plan
        assert "Seq Scan on robots" not in plan, plan
        assert "Seq Scan on jobs" not in plan, plan
        assert "Seq Scan on robot_groups" not in plan, plan
        assert "Seq Scan on tasks" not in plan, plan
    assert all("robot_groups" in plan and "tasks" in plan for plan in plans[-3:])


def _group_and_task(connection: Connection, api: Any) -> tuple[int, int]:
    """The ids of a new robot group and of a task in a new queue."""
    assert api.post("/api/robotGroup/create", json={"Name": "pool"}).status_code == 200
    assert api.post("/api/queue/create", json={"Name": "work"}).status_code == 200
    added = api.post("/api/task/create", json={"Queue": "work", "Name": "first"})
    assert added.status_code == 200, added.text
    group_id = connection.execute(
        text("SELECT id FROM robot_groups WHERE name = 'pool'")
    ).scalar_one()
    return int(group_id), int(added.json()["id"])
