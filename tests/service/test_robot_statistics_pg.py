"""A fleet registered at once on a fresh PostgreSQL database: the server refreshes the robots
table's planner statistics itself, so that a heartbeat no longer finds its robot through the
account's index.
Without statistics PostgreSQL read it through `ix_robots_account_id`, every robot of the
account (0.75 ms a heartbeat at 2,500 robots against 0.03; runtime.planner_statistics)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import text

from robofleet.server.db.robot_statements import postgres_heartbeat
from robofleet.server.runtime.planner_statistics import ROBOTS_THRESHOLD
from tests.service.conftest import Service
from tests.service.test_one_trip_plans import _generic_plan


def test_a_registered_fleet_heartbeats_without_the_accounts_index(pg_service: Service) -> None:
    api = pg_service.admin
    engine = pg_service.runtime.db.engine
    with engine.begin() as connection:  # most of the fleet, as a script would have made it
        connection.execute(
            text(
                "INSERT INTO robots (guid, name, description, robot_type, is_active, status,"
                " machine, ip, mac, agent_version, license_string, account_id, created_at,"
                " updated_at) SELECT gen_random_uuid(), 'early-' || n, '', 'unattended',"
                " true, 0, '', '', '', '', '', (SELECT min(id) FROM accounts), now(), now()"
                " FROM generate_series(1, 2400) AS n"
            )
        )
    for n in range(ROBOTS_THRESHOLD):
        created = api.post("/api/robot/create", json={"Name": f"bot-{n}"})
        assert created.status_code == 200, created.text
    statistics = pg_service.runtime.planner_statistics
    assert statistics is not None
    deadline = time.monotonic() + 20
    while not statistics.analyzed_tables["robots"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert statistics.analyzed_tables["robots"] >= 1

    with engine.connect() as connection:
        robot, account = connection.execute(
            text("SELECT id, account_id FROM robots ORDER BY id DESC LIMIT 1")
        ).one()
        values = {
            "p_robot": robot,
            "p_account": account,
            "p_now": datetime.now(UTC),
            "p_status": None,
            "p_machine": None,
            "p_ip": None,
            "p_mac": None,
            "p_version": None,
        }
        plans = {}
        for mode in ("force_custom_plan", "force_generic_plan"):
            connection.exec_driver_sql(f"SET plan_cache_mode = {mode}")
            plans[mode] = _generic_plan(connection, postgres_heartbeat(), values)
        connection.rollback()
    for plan in plans.values():
        robots_scan = next(
            line for line in plan.splitlines() if "Scan" in line and " on robots " in line
        )
        assert "ix_robots_account_id" not in robots_scan, plan
