"""A write on SQLite's bare driver connection, in the group writer's turn (db.group_writer).

The robot hot paths (take, finish, renew) are a few statements each; through an ORM Session
the session, its unit of work and SQLAlchemy's execution around each statement cost more
Python than the statements themselves. Here a caller gets the sqlite3 connection of the
group's transaction and runs PreparedStatements (db.prepared) on it, with the group's rules
kept: its own SAVEPOINT (a failure undoes only its work), its after-commit work run after the
group's COMMIT, and no answer before that COMMIT.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect as SADialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql import ClauseElement

from robofleet.server.db.group_writer import GroupFailed, GroupWriter, HeldTurn
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.domain.errors import Conflict

_SAVEPOINT = "robofleet_raw_write"
_CALL_SAVEPOINT = "robofleet_held_call"

Result = TypeVar("Result")


@cache
def prepared(statement: ClauseElement, dialect: SADialect) -> PreparedStatement:
    """`statement` prepared for `dialect`, once per process. Only for statements built once
    (cached builders): the cache holds each statement for good."""
    return PreparedStatement(statement, dialect)


@dataclass(frozen=True)
class RawWrite:
    """One caller's write: the driver connection inside its savepoint, and the list its
    after-commit work goes to (db.commit_hooks' counterpart for the session path)."""

    connection: sqlite3.Connection
    after_commit: list[Callable[[], None]]
    dialect: SADialect

    def rows(self, statement: ClauseElement, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return prepared(statement, self.dialect).run(self.connection, values)

    def run_many(self, statement: ClauseElement, values: list[dict[str, Any]]) -> None:
        if values:
            prepared(statement, self.dialect).run_many(self.connection, values)


@contextmanager
def raw_write(writer: GroupWriter) -> Iterator[RawWrite]:
    """A RawWrite in the next turn of `writer`; returns once the group has committed (or
    raises GroupFailed), as a session write does. A driver error is raised as SQLAlchemy's
    (an integrity clash as the session path's Conflict), so the API answers it alike.

    On a thread that holds the writer's turn (held_turn, via run_held) the write joins that
    turn's group instead, and its commit comes when the holder's turn ends."""
    held = writer.held()
    if held is None:
        with writer.turn() as (connection, after_commit), _savepoint(connection, _SAVEPOINT) as raw:
            yield RawWrite(raw, after_commit, connection.dialect)
        return
    _check_open(held)
    mine: list[Callable[[], None]] = []
    with _savepoint(held.connection, _SAVEPOINT) as raw:
        yield RawWrite(raw, mine, held.connection.dialect)
    held.after_commit.extend(mine)


def run_held(held: HeldTurn, call: Callable[..., Result], *args: Any) -> Result:
    """`call(*args)` in the held turn, all its writes in one savepoint: if it raises, none
    of them stays (nor its after-commit work), and the turn goes on for the next caller."""
    _check_open(held)
    kept = held.after_commit
    mine: list[Callable[[], None]] = []
    held.after_commit = mine
    try:
        with _savepoint(held.connection, _CALL_SAVEPOINT):
            result = call(*args)
    finally:
        held.after_commit = kept
    kept.extend(mine)
    return result


def _check_open(held: HeldTurn) -> None:
    transaction = held.connection.get_transaction()
    if transaction is None or not transaction.is_active:
        raise GroupFailed("a write in the group broke the shared transaction")


@contextmanager
def _savepoint(connection: Connection, name: str) -> Iterator[sqlite3.Connection]:
    """The driver connection inside SAVEPOINT `name`: rolled back if the body raises."""
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    _execute(raw, f"SAVEPOINT {name}")
    try:
        yield raw
    except BaseException as exc:
        _undo(connection, raw, name)
        if isinstance(exc, sqlite3.Error):
            raise _wrapped(exc) from exc
        raise
    try:
        _execute(raw, f"RELEASE SAVEPOINT {name}")
    except sqlite3.Error as exc:
        _undo(connection, raw, name)
        raise _wrapped(exc) from exc


def _undo(connection: Connection, raw: sqlite3.Connection, name: str) -> None:
    """Roll back to the savepoint; if even that fails the group's transaction cannot be
    trusted: end it, so the group fails as a whole (GroupWriter._commit)."""
    try:
        _execute(raw, f"ROLLBACK TO SAVEPOINT {name}")
        _execute(raw, f"RELEASE SAVEPOINT {name}")
    except sqlite3.Error:
        transaction = connection.get_transaction()
        if transaction is not None:
            transaction.rollback()


def _execute(raw: sqlite3.Connection, sql: str) -> None:
    raw.execute(sql).close()


def _wrapped(exc: sqlite3.Error) -> Exception:
    error = DBAPIError.instance(None, None, exc, sqlite3.Error)
    if isinstance(error, IntegrityError):
        return Conflict(
            "the change conflicts with an existing object (a name or link already taken)",
            code="integrity_conflict",
        )
    return error
