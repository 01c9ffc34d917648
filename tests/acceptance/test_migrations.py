"""Migrations: one head, upgrade from empty on both stores, models equal to migrations."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

import robofleet.server.db.tables  # noqa: F401
from robofleet.server.db import migrate
from robofleet.server.db.base import Base
from tests.support import pg


@pytest.fixture(params=["sqlite", "postgres"])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database on each store."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = pg.create_database("robofleet_migrate")
    try:
        yield url
    finally:
        pg.drop_database(url)


def test_there_is_one_head() -> None:
    assert len(migrate.head_revisions()) == 1


def _upgrade_and_compare(url: str) -> None:
    engine = create_engine(url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revisions()[0]
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        migrate.upgrade(engine)  # a second upgrade is a no-op
    finally:
        engine.dispose()


def test_upgrade_from_empty(empty_store: str) -> None:
    _upgrade_and_compare(empty_store)


def test_db_upgrade_command(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "ROBOFLEET_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "robofleet", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert migrate.head_revisions()[0] in result.stdout
    current = subprocess.run(
        [sys.executable, "-m", "robofleet", "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert current.stdout.strip() == migrate.head_revisions()[0]


def _indexes(engine: Engine, table: str) -> dict[str, str]:
    """A table's indexes and their definitions, as the store keeps them."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
        else:
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"
        return {name: str(sql) for name, sql in connection.execute(text(query), {"t": table})}


def _job_indexes(engine: Engine) -> dict[str, str]:
    return _indexes(engine, "jobs")


def _check_the_pick_index(url: str) -> None:
    """Upgraded, the job pick's index is in the take order (priority DESC, then id) over live
    pending untaken jobs and the old one is gone; downgraded to 0012, the old one is back.
    (The models' comparison does not see a column's direction on SQLite, whose reflection
    drops DESC: this reads the definitions the stores keep.)"""
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        indexes = _job_indexes(engine)
        assert "ix_jobs_dispatch" not in indexes, indexes
        pick = " ".join(indexes["ix_jobs_pick"].split())
        assert "(account_id, priority DESC, id)" in pick, pick
        live = "is_deleted = 0" if engine.dialect.name == "sqlite" else "(NOT is_deleted)"
        assert "status = 1" in pick and "claimed_at IS NULL" in pick and live in pick, pick
        command.downgrade(migrate.alembic_config(url), "0012")
        indexes = _job_indexes(engine)
        assert "ix_jobs_pick" not in indexes, indexes
        assert "(account_id, priority, id)" in " ".join(indexes["ix_jobs_dispatch"].split())
        migrate.upgrade(engine)
        assert "ix_jobs_pick" in _job_indexes(engine)
    finally:
        engine.dispose()


def test_the_job_pick_index_is_in_the_take_order(empty_store: str) -> None:
    _check_the_pick_index(empty_store)


SPARSE = {
    "ix_tasks_job": "job_id",
    "ix_tasks_lease_robot_id": "lease_robot_id",
    "ix_tasks_idempotency_key": "idempotency_key",
}


def _check_the_sparse_task_indexes(url: str) -> None:
    """Upgraded, the tasks' job, robot-lease and idempotency-key indexes leave out the rows
    without one (the models' comparison does not see an index's WHERE); downgraded to 0014
    they index every row again, and the key's stays unique throughout."""
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        indexes = _indexes(engine, "tasks")
        for name, column in SPARSE.items():
            assert f"{column} IS NOT NULL" in indexes[name], indexes[name]
        assert "UNIQUE" in indexes["ix_tasks_idempotency_key"].upper()
        command.downgrade(migrate.alembic_config(url), "0014")
        indexes = _indexes(engine, "tasks")
        for name in SPARSE:
            assert "NOT NULL" not in indexes[name], indexes[name]
        assert "UNIQUE" in indexes["ix_tasks_idempotency_key"].upper()
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def test_the_sparse_task_indexes(empty_store: str) -> None:
    _check_the_sparse_task_indexes(empty_store)


def _unique_name_rules(engine: Engine) -> tuple[str | None, list[str]]:
    """The partial unique index's definition (None without it) and the unique constraints'
    names, of the tasks table."""
    index = _indexes(engine, "tasks").get("uq_tasks_queue_unique_name")
    constraints = [c["name"] or "" for c in inspect(engine).get_unique_constraints("tasks")]
    return index, constraints


def test_unique_task_names_are_kept_by_a_sparse_unique_index(empty_store: str) -> None:
    """Upgraded, a queue's unique names are kept by a unique index of the tasks that have one
    (every take and finish no longer adds a NULL entry to it); downgraded to 0015 the unique
    constraint over every task is back; upgraded again, the index."""
    engine = create_engine(empty_store)
    try:
        migrate.upgrade(engine)
        index, constraints = _unique_name_rules(engine)
        assert index is not None and "unique_name IS NOT NULL" in index, index
        assert "UNIQUE" in index.upper() and "uq_tasks_queue_id" not in constraints
        command.downgrade(migrate.alembic_config(empty_store), "0015")
        index, constraints = _unique_name_rules(engine)
        assert index is None and "uq_tasks_queue_id" in constraints, constraints
        migrate.upgrade(engine)
        assert _unique_name_rules(engine)[0] is not None
    finally:
        engine.dispose()


TASK_GUID, LEASE = "5f0c7a52-3b1e-4c2d-9a8f-0123456789ab", "0b9e2d4c-7a61-4f38-8e15-c2d3a4b5e6f7"
GUID_COLUMNS = ("guid", "lease_id", "finish_lease_id")


def _guid_columns(engine: Engine) -> tuple[dict[str, str], tuple[str | None, ...]]:
    """The tasks' GUID columns' types, and the one task's values in them (as text)."""
    types = {c["name"]: str(c["type"]) for c in inspect(engine).get_columns("tasks")}
    with engine.connect() as connection:
        row = connection.execute(text("SELECT guid, lease_id, finish_lease_id FROM tasks")).one()
    return (
        {name: types[name] for name in GUID_COLUMNS},
        tuple(None if value is None else str(value) for value in row),
    )


def test_task_guids_and_leases_are_uuid_on_postgresql(empty_store: str) -> None:
    """Upgraded, PostgreSQL keeps a task's GUID and lease ids as `uuid` (16 bytes, not 37),
    SQLite as text; a task stored before reads the same after the upgrade, after a downgrade
    to 0016 and after the upgrade again."""
    engine = create_engine(empty_store)
    config = migrate.alembic_config(empty_store)
    tables = Base.metadata.tables
    try:
        command.upgrade(config, "0016")
        with engine.begin() as connection:
            connection.execute(tables["accounts"].insert().values(login="a"))
            account = connection.execute(text("SELECT min(id) FROM accounts")).scalar_one()
            connection.execute(tables["queues"].insert().values(name="q", account_id=account))
            queue_id = connection.execute(text("SELECT min(id) FROM queues")).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO tasks (guid, lease_id, account_id, queue_id, name, description,"
                    " comment, parameters, error_type, error_message, error_details, priority,"
                    " rank, tags, status, deadline_key, retries, is_deleted, status_changed_at,"
                    " created_at, updated_at) VALUES (:guid, :lease, :account, :queue, 't', '',"
                    " '', '{}', '', '', '', 2, 2, '', 1, '9999-12-31 00:00:00', 0, false,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"guid": TASK_GUID, "lease": LEASE, "account": account, "queue": queue_id},
            )
        stored = (TASK_GUID, LEASE, None)
        text_type = "VARCHAR(36)"
        upgraded = "UUID" if engine.dialect.name == "postgresql" else text_type
        migrate.upgrade(engine)
        assert _guid_columns(engine) == (dict.fromkeys(GUID_COLUMNS, upgraded), stored)
        command.downgrade(config, "0016")
        assert _guid_columns(engine) == (dict.fromkeys(GUID_COLUMNS, text_type), stored)
        migrate.upgrade(engine)
        assert _guid_columns(engine) == (dict.fromkeys(GUID_COLUMNS, upgraded), stored)
    finally:
        engine.dispose()
