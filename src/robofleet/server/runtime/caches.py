"""Read-through caches of rarely changing rows that every request needs (who is calling,
which queue), so a request does not pay lookups to learn them.

Correctness over speed: a write transaction that touches a watched row empties the cache at
commit on this node and, with PostgreSQL, on every node through NOTIFY; entries also age
out after a few seconds as a backstop.
"""

from __future__ import annotations

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
QUEUE_ROWS: tuple[type, ...] = (QueueRow, AccessFolderRow)
PROCESS_ROWS: tuple[type, ...] = (ProcessRow, ProcessVersionRow)

ValueT = TypeVar("ValueT")


@dataclass
class _Entry(Generic[ValueT]):
    value: ValueT
    generation: int
    stored_at: float
    expires_at: float | None


@dataclass
class WatchedCache(Generic[ValueT]):
    name: str
    watched: tuple[type, ...]
    ttl_seconds: float = 5.0
    max_entries: int = 10_000
    _entries: dict[Hashable, _Entry[ValueT]] = field(default_factory=dict)
    _generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: Hashable) -> ValueT | None:
        entry = self._entries.get(key)
        if entry is None or entry.generation != self._generation:
            return None
        if time.monotonic() - entry.stored_at > self.ttl_seconds:
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
            self._entries[key] = _Entry(value, generation, time.monotonic(), expires_at)

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

    def watch(self, db: Database) -> Callable[[], None]:
        def after_flush(session: Session, _flush: UOWTransaction) -> None:
            # Every write flushes: look at the changed kinds once, not once per cache.
            kinds = {type(o) for o in (*session.new, *session.deleted)}
            kinds |= {type(o) for o in session.dirty if not _activity_only(o)}
            for cache in self.caches:
                flag = f"cache:{cache.name}"
                if session.info.get(flag) or not any(issubclass(k, cache.watched) for k in kinds):
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
