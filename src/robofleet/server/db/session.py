"""Transactions. Services open exactly one per public function through `Database`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from robofleet.server.db.audit import AuditActor, NotAudited
from robofleet.server.db.commit_hooks import AFTER_COMMIT
from robofleet.server.db.dialect import WRITE_OPTION, dialect_of
from robofleet.server.db.group_writer import GroupWriter
from robofleet.server.db.raw_write import RawWrite, raw_write
from robofleet.server.domain.errors import Conflict


class Database:
    """Owns the engine and hands out read and write sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = dialect_of(engine)
        write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._reader = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._writer = sessionmaker(bind=write_engine, expire_on_commit=False, autoflush=True)
        # SQLite has one writer at a time: our writers take turns on one connection and
        # share commits (db.group_writer) instead of spinning on SQLITE_BUSY in the driver.
        self._group_writer = GroupWriter(write_engine) if self.dialect.single_writer else None
        self._readers = threading.local()
        self._kept: list[Any] = []
        self._kept_lock = threading.Lock()

    @property
    def group_writer(self) -> GroupWriter | None:
        """SQLite's one writer (db.group_writer); None where writers run side by side."""
        return self._group_writer

    def listen(self, event_name: str, handler: Callable[..., Any]) -> Callable[[], None]:
        """Attach a session event handler to this database's sessions only (not to every
        `Session` of the process); returns the call that detaches it."""
        factories = (self._reader, self._writer)
        for factory in factories:
            event.listen(factory, event_name, handler)

        def detach() -> None:
            for factory in factories:
                event.remove(factory, event_name, handler)

        return detach

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    @contextmanager
    def write(self, *, actor: AuditActor | NotAudited) -> Iterator[Session]:
        """One write transaction; changes to audited rows are recorded against `actor`, or
        not at all for a NotAudited path (db.system_actors names them)."""
        if self._group_writer is None:
            yield from self._write_session(actor)
            return
        with self._group_writer.turn() as (connection, after_commit):
            yield from self._write_session(actor, connection, after_commit)

    def _write_session(
        self,
        actor: AuditActor | NotAudited,
        connection: Connection | None = None,
        after_commit: list[Callable[[], None]] | None = None,
    ) -> Iterator[Session]:
        """A session of its own transaction, or (given a group's `connection`) of a
        SAVEPOINT in the group's transaction, its after-commit work kept for the group."""
        options: dict[str, Any] = {}
        if connection is not None:
            options = {"bind": connection, "join_transaction_mode": "create_savepoint"}
        try:
            with self._writer(**options) as session:
                session.info["actor"] = None if isinstance(actor, NotAudited) else actor
                if after_commit is not None:
                    session.info[AFTER_COMMIT] = after_commit
                with session.begin():
                    yield session
        except IntegrityError as exc:
            # The explicit checks in services name the clash; this catches the race between
            # two concurrent writers that both passed them.
            raise Conflict(
                "the change conflicts with an existing object (a name or link already taken)",
                code="integrity_conflict",
            ) from exc

    @property
    def raw_writes(self) -> bool:
        """Whether raw_write is available: on the store with one writer (SQLite)."""
        return self._group_writer is not None

    def raw_write(self) -> AbstractContextManager[RawWrite]:
        """A write on the bare driver connection in the group writer's turn, in its own
        savepoint (db.raw_write): for the hot paths' prepared statements, with no ORM
        session. Nothing is audited: only for writes the session path does not audit.
        (db.raw_write's context itself, not one wrapped around it: every write enters it.)"""
        assert self._group_writer is not None, "raw writes are for SQLite (single_writer)"
        return raw_write(self._group_writer)

    def kept_reader(self) -> Any:
        """The driver connection this thread keeps for its lean reads (SQLite's, on the
        event loop: no pool checkout, no thread hop): taken from the pool on first use and
        kept out of it, in autocommit as the pool's are; closed with the database."""
        connection = getattr(self._readers, "connection", None)
        if connection is None:
            pooled = self.engine.raw_connection()
            connection = self._readers.connection = pooled.driver_connection
            pooled.detach()
            with self._kept_lock:
                self._kept.append(connection)
        return connection

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection on which each statement commits by itself: no BEGIN or COMMIT round
        trips, for a statement that makes a whole change (one_statement_claims)."""
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self._group_writer is not None:
            self._group_writer.close()
        with self._kept_lock:
            kept, self._kept = self._kept, []
        for connection in kept:
            connection.close()
        self.engine.dispose()
