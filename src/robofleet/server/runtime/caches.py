"""Read-through caches of rarely changing rows that every request needs (who is calling,
which queue), so a request does not pay lookups to learn them.

Correctness over speed: a write transaction that touches a watched row empties the cache at
commit on this node and, with PostgreSQL, on every node through NOTIFY; entries also age
out after a few minutes as a backstop, each at its own moment (entries stored together, as a
fleet's first calls are, would otherwise age out together and be looked up again at once).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session, UOWTransaction

from robofleet.server.db.commit_hooks import on_commit
from robofleet.server.db.notify import pg_notify
from robofleet.server.db.session import Database
from robofleet.server.db.tables import (
    AccessFolderRow,
    AccountRow,
    ApiKeyRow,
    ProcessRow,
    ProcessVersionRow,
    QueueRow,
    RoleFolderRow,
    RoleRow,
    UserRoleRow,
    UserRow,
)
from robofleet.server.db.tables.robots import RobotRow

CHANNEL = "robofleet_cache"
IDENTITY_ROWS: tuple[type, ...] = (
    AccessFolderRow,
    AccountRow,
    ApiKeyRow,
    ProcessRow,
    ProcessVersionRow,
    RoleFolderRow,
    RoleRow,
    UserRoleRow,
    UserRow,
    RobotRow,
)
"""Rows whose change can change who a credential is or what it may do."""
NEW_IDENTITIES_HARMLESS: tuple[type, ...] = (AccountRow, ApiKeyRow, RobotRow, UserRow)
"""A new account, key, robot or user changes no credential already cached: creating robots
for a large fleet must not send every robot's next call to authenticate again."""
BACKSTOP_TTL_SECONDS = 300.0
"""A credential's or a queue's entry ages out after 150-300 s: changes empty the cache at
once, this is a backstop only. (A queue's rules at 2.5-5 s sent a fleet's adds and takes of a
queue to the session path each time they aged out, all of them while a fleet's first calls
kept that path busy.)"""
QUEUE_ROWS: tuple[type, ...] = (QueueRow, AccessFolderRow)
PROCESS_ROWS: tuple[type, ...] = (ProcessRow, ProcessVersionRow)

ValueT = TypeVar("ValueT")
_ADDED = "caches:added"
"""session.info's set of the ids of the rows the session added."""


@dataclass
class _Entry(Generic[ValueT]):
    value: ValueT
    generation: int
    fresh_until: float
    """time.monotonic() past which the entry has aged out."""
    expires_at: float | None


@dataclass
class WatchedCache(Generic[ValueT]):
    name: str
    watched: tuple[type, ...]
    ttl_seconds: float = 5.0
    """An entry ages out after between half of this and all of it, at random."""
    max_entries: int = 10_000
    new_rows_harmless: tuple[type, ...] = ()
    """Watched kinds whose new rows change no entry (only their updates and deletes do)."""
    _entries: dict[Hashable, _Entry[ValueT]] = field(default_factory=dict)
    _generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: Hashable) -> ValueT | None:
        entry = self._entries.get(key)
        if entry is None or entry.generation != self._generation:
            return None
        if time.monotonic() > entry.fresh_until:
            return None
        if entry.expires_at is not None and time.time() >= entry.expires_at:
            return None
        return entry.value

    @property
    def generation(self) -> int:
        """Read before a lookup and pass to `put`, so a change during the lookup wins."""
        return self._generation

    def put(
        self, key: Hashable, value: ValueT, *, generation: int, expires_at: float | None = None
    ) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            # Spreading, not secrecy: any generator will do.
            fresh_for = self.ttl_seconds * random.uniform(0.5, 1.0)  # noqa: S311
            self._entries[key] = _Entry(value, generation, time.monotonic() + fresh_for, expires_at)

    def touched_by(self, created: set[type], changed: set[type]) -> bool:
        """Whether a write that created rows of `created` kinds and updated or deleted rows of
        `changed` kinds may change an entry."""
        return any(issubclass(kind, self.watched) for kind in changed) or any(
            issubclass(kind, self.watched) and not issubclass(kind, self.new_rows_harmless)
            for kind in created
        )

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


@dataclass
class Caches:
    """The caches of one server process and the wiring that keeps them honest."""

    caches: list[WatchedCache[Any]]

    def on_notify(self, payload: str) -> None:
        for cache in self.caches:
            if cache.name == payload:
                cache.invalidate()

    def invalidate_all(self) -> None:
        for cache in self.caches:
            cache.invalidate()

    def watch(self, db: Database) -> Callable[[], None]:
        def after_flush(session: Session, _flush: UOWTransaction) -> None:
            # Every write flushes: look at the changed kinds once, not once per cache.
            # A row added in this transaction and then changed (a robot flushed, then given
            # its secret) is still a new row to the caches.
            added: set[int] = session.info.setdefault(_ADDED, set())
            added.update(id(o) for o in session.new)
            created = {type(o) for o in session.new}
            changed = {type(o) for o in session.deleted}
            for row in session.dirty:
                if id(row) in added:
                    created.add(type(row))
                elif not _activity_only(row):
                    changed.add(type(row))
            for cache in self.caches:
                flag = f"cache:{cache.name}"
                if session.info.get(flag) or not cache.touched_by(created, changed):
                    continue
                session.info[flag] = True
                if db.dialect.notifies:
                    pg_notify(session, CHANNEL, cache.name)
                on_commit(session, cache.invalidate)

        return db.listen("after_flush", after_flush)


def _activity_only(row: object) -> bool:
    """Only activity bookkeeping changed: the columns marked `info={"audit": False}` (a
    robot's heartbeat time, status, machine; a user's last login). They never change who a
    credential is or what it may do, and a heartbeat writes them many times a minute per
    robot: emptying the caches for them made every robot call authenticate again."""
    state = inspect(row)
    columns = state.mapper.columns
    changed = state.committed_state.keys()
    return bool(changed) and all(
        key in columns and columns[key].info.get("audit") is False for key in changed
    )
