"""A SQLite file with one `items` table behind a Database (its group writer), for the
group-commit tests of the session and raw write paths."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from robofleet.server.db.dialect import SQLITE
from robofleet.server.db.session import Database


class Refused(Exception):
    """A writer's own failure, raised inside its write."""


def items_database(path: Path) -> Iterator[Database]:
    engine = SQLITE.create_engine(f"sqlite:///{path}", sqlite_synchronous="full", pool_size=16)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE items (n INTEGER PRIMARY KEY, note TEXT)"))
    database = Database(engine)
    yield database
    database.dispose()


def committed(path: str) -> set[int]:
    """The rows another connection sees: only what is committed."""
    with sqlite3.connect(path) as other:
        return {n for (n,) in other.execute("SELECT n FROM items")}
