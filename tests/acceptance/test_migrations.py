"""Migrations: one head, upgrade from empty on both stores, models equal to migrations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import robofleet.server.db.tables  # noqa: F401
from robofleet.server.db import migrate
from robofleet.server.db.base import Base
from tests.support import pg


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


def test_upgrade_from_empty_on_sqlite(tmp_path: Path) -> None:
    _upgrade_and_compare(f"sqlite:///{tmp_path / 'empty.db'}")


def test_upgrade_from_empty_on_postgres() -> None:
    url = pg.create_database("robofleet_migrate")
    try:
        _upgrade_and_compare(url)
    finally:
        pg.drop_database(url)


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
