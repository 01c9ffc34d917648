"""Several `robofleet server` nodes on one PostgreSQL database and one data directory (so one
blob folder and one set of key files), as docs/deploy.md describes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import psycopg

from tests.support.server import ServerProcess


def libpq(url: str) -> str:
    """The SQLAlchemy URL of tests.support.pg as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def start_nodes(count: int, data_dir: Path, database_url: str) -> list[ServerProcess]:
    """`count` nodes started at the same moment on an empty database: they take turns at the
    schema upgrade and the first account (one makes them, the others find them)."""
    first = ServerProcess(data_dir=data_dir, database_url=database_url)
    nodes = [first] + [
        ServerProcess(data_dir=data_dir, database_url=database_url, api_key=first.api_key)
        for _ in range(count - 1)
    ]
    try:
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(lambda node: node.start(timeout=120), nodes))
    except BaseException:
        for node in nodes:
            node.kill()
        raise
    return nodes


def scheduler_leader(database_url: str, nodes: list[ServerProcess]) -> ServerProcess:
    """The node whose process holds the scheduler's lease."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with psycopg.connect(libpq(database_url)) as conn:
            row = conn.execute(
                "SELECT holder FROM scheduler_leases "
                "WHERE name = 'scheduler' AND expires_at > now()"
            ).fetchone()
        if row:
            pid = int(str(row[0]).split(":")[1])
            for node in nodes:
                assert node.process is not None
                parent = psutil.Process(node.process.pid)
                if pid in {parent.pid, *(c.pid for c in parent.children(recursive=True))}:
                    return node
        time.sleep(0.2)
    raise AssertionError("no node leads the scheduler")
