"""A bare driver connection for one lean read or write (db.prepared statements).

`driver_write`, whose change is durable on return. SQLite: the caller's turn of the group
writer on its shared connection, inside its own SAVEPOINT (Database.raw_write), so a failure
undoes only this write; the context returns once the group's COMMIT holds it, as a session
write does. PostgreSQL: a pooled connection in autocommit, so each statement commits by
itself with no BEGIN/COMMIT round trips: the caller writes its whole change in one statement.

`driver_read`: a pooled connection in autocommit (SQLite's pool connections are: the
driver's transaction handling is off), for one statement that reads a consistent snapshot.

A driver error comes out as SQLAlchemy's (an OperationalError answers 503, as on the session
path), and a PostgreSQL connection found broken leaves the pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError

from robofleet.server.db.session import Database


@contextmanager
def driver_write(db: Database) -> Iterator[Any]:
    """The DB-API connection to run the write's statements on."""
    with _as_sqlalchemy_errors(db):
        if db.raw_writes:
            with db.raw_write() as write:
                yield write.connection
        else:
            with _autocommit(db) as own:
                yield own


@contextmanager
def driver_read(db: Database, *, kept: bool = False) -> Iterator[Any]:
    """The DB-API connection to run one reading statement on (SQLite: `kept`, the one this
    thread keeps, Database.kept_reader)."""
    with _as_sqlalchemy_errors(db):
        if db.group_writer is None:
            with _autocommit(db) as own:
                yield own
        elif kept:
            yield db.kept_reader()
        else:
            pooled = db.engine.raw_connection()
            try:
                yield pooled.driver_connection
            finally:
                pooled.close()


@contextmanager
def _as_sqlalchemy_errors(db: Database) -> Iterator[None]:
    """A driver error raised as SQLAlchemy's, which the API answers (503 for a lost link)."""
    error: type[Exception] = db.engine.dialect.loaded_dbapi.Error
    try:
        yield
    except error as exc:
        raise DBAPIError.instance(None, None, exc, error) from exc


@contextmanager
def _autocommit(db: Database) -> Iterator[Any]:
    pooled = db.engine.raw_connection()
    driver: Any = pooled.driver_connection
    try:
        driver.autocommit = True
        try:
            yield driver
        finally:
            if not driver.closed:
                driver.autocommit = False
    except BaseException as exc:
        if driver.closed or getattr(driver, "broken", False):
            pooled.invalidate(exc if isinstance(exc, Exception) else None)
        raise
    finally:
        pooled.close()
