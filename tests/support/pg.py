"""A real PostgreSQL for the tests: started if it is down, a throw-away database per use."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import psycopg

ADMIN_DSN = os.environ.get("ROBOFLEET_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
"""The pytest-xdist worker (gw0, gw1, ...) goes into each database name, so a database left
behind says which worker made it; the random part keeps names unique."""


def _reachable() -> bool:
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def ensure_postgres() -> None:
    """Start the local cluster if it is down; fail (never skip) if it stays unreachable."""
    if _reachable():
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"],
        check=False,
        capture_output=True,
    )
    for _ in range(30):
        if _reachable():
            return
        time.sleep(1)
    raise RuntimeError(
        f"PostgreSQL is not reachable at {ADMIN_DSN}; the PostgreSQL tests "
        "need it (pg_ctlcluster --skip-systemctl-redirect 15 main start)"
    )


def create_database(prefix: str = "robofleet_test") -> str:
    """Create an empty database and return its SQLAlchemy URL."""
    ensure_postgres()
    name = f"{prefix}_{WORKER}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
