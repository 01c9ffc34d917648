"""On SQLite (no ANALYZE, so no statistics), the statements that name an account beside a
better key keep off the account's index (db.unindexed): a batch finish seeks its GUIDs, and
the scheduler's timers read the partial index of the status they look for, where SQLite
otherwise walked every task of the account, or scanned the table through that index for a
`DISTINCT account_id` (a finish of 50 cost 105 us a task instead of 6.5). A heartbeat asks
whether a job waits by the pick's own index, not by walking every job the account ever had.
A robot reads a resource by name through the live names' index. The plan is asserted, not a
timing."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from robofleet.server.db import claims as job_claims
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.robot_statements import heartbeat_statements
from robofleet.server.db.task_statements import claims, timers
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.services.resources import lean_read
from robofleet.server.services.tasks.state import Finish, one_statement_shape
from tests.service.conftest import Service


def _plan(engine: Engine, sql: str, parameters: Any) -> str:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
        return "\n".join(str(row[-1]) for row in rows)


def test_a_batch_finish_seeks_its_guids(service: Service) -> None:
    engine = service.runtime.db.engine
    finish = Finish(status=TaskStatus.SUCCESS)
    statement = claims.finish_statement(**one_statement_shape(finish))
    guids = [str(uuid.uuid4()) for _ in range(50)]
    values = {
        "p_guids": guids,
        "p_account_id": 1,
        "p_lease_id": str(uuid.uuid4()),
        "p_now": datetime.now(UTC),
        "p_status": int(TaskStatus.SUCCESS),
        "p_postponed_until": None,
    }
    sql, parameters = PreparedStatement(statement, engine.dialect).bound(values)
    plan = _plan(engine, sql, parameters)
    assert "ix_tasks_account_name" not in plan, plan
    assert "(guid=?)" in plan, plan


@contextmanager
def _statements_of(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_c: object, _cur: object, sql: str, parameters: Any, *_rest: object) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE")):
            seen.append((sql, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_timers_read_the_partial_index_of_their_status(service: Service) -> None:
    engine = service.runtime.db.engine
    now = datetime.now(UTC)
    expected = {
        "status = 0": "ix_tasks_deadline",
        "status = 1": "ix_tasks_lease",
        "status = 5": "ix_tasks_postponed",
    }
    with _statements_of(engine) as seen, Session(engine) as session:
        timers.accounts_with_overdue_new(session, now)
        timers.promote_overdue(session, now, 1, 1)
        timers.accounts_with_postponed_due(session, now)
        timers.postponed_due(session, now, 10, 1)
        timers.accounts_with_expired_leases(session, now)
        timers.leases_expired(session, now, 10, 1)
        session.rollback()
    assert len(seen) == 6, seen
    for sql, parameters in seen:
        status = next(constant for constant in expected if constant in sql)
        plan = _plan(engine, sql, parameters)
        assert f"USING INDEX {expected[status]}" in plan, (sql, plan)
        assert "ix_tasks_account_name" not in plan, (sql, plan)


def test_a_heartbeat_asks_for_a_waiting_job_by_the_picks_index(service: Service) -> None:
    engine = service.runtime.db.engine
    # Every other parameter None: a plan needs no value.
    values = defaultdict(lambda: None, {"p_robot": 1, "p_account": 1})
    sql, parameters = heartbeat_statements(engine.dialect).heartbeat.bound(values)
    plan = _plan(engine, sql, parameters)
    assert "SEARCH jobs USING INDEX ix_jobs_pick (account_id=?)" in plan, plan
    assert "ix_jobs_account_id" not in plan, plan
    waiting = PreparedStatement(job_claims.first_pending_job(), engine.dialect)
    sql, parameters = waiting.bound({"p_account": 1, "p_robot": 1})
    plan = _plan(engine, sql, parameters)
    assert "SEARCH jobs USING INDEX ix_jobs_pick (account_id=?)" in plan, plan


def test_a_robot_reads_a_resource_by_name_through_the_live_names_index(service: Service) -> None:
    engine = service.runtime.db.engine
    statement = lean_read._statement(engine.dialect, "name")
    sql, parameters = statement.bound({"p_account": 1, "p_robot": 1, "p_value": "setting"})
    plan = _plan(engine, sql, parameters)
    assert "uq_resources_name_scope_live (account_id=? AND name=?)" in plan, plan
