"""Transactions. Services open exactly one per public function through `Database`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from robofleet.server.db.audit import AuditActor, NotAudited
from robofleet.server.db.dialect import WRITE_OPTION, dialect_of
from robofleet.server.domain.errors import Conflict


class Database:
    """Owns the engine and hands out read and write sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = dialect_of(engine)
        write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._reader = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._writer = sessionmaker(bind=write_engine, expire_on_commit=False, autoflush=True)
        # SQLite has one writer at a time; queueing our own threads here is cheaper than
        # letting them spin on SQLITE_BUSY inside the driver.
        self._write_lock = threading.Lock() if self.dialect.single_writer else None

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
        if self._write_lock is None:
            yield from self._write_session(actor)
            return
        with self._write_lock:
            yield from self._write_session(actor)

    def _write_session(self, actor: AuditActor | NotAudited) -> Iterator[Session]:
        try:
            with self._writer() as session:
                session.info["actor"] = None if isinstance(actor, NotAudited) else actor
                with session.begin():
                    yield session
        except IntegrityError as exc:
            # The explicit checks in services name the clash; this catches the race between
            # two concurrent writers that both passed them.
            raise Conflict(
                "the change conflicts with an existing object (a name or link already taken)",
                code="integrity_conflict",
            ) from exc

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
        self.engine.dispose()
