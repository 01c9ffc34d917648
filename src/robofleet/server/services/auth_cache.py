"""Principals cached by credential, so a request does not pay two lookups to say who it is.

Correctness over speed: any change to keys, users, roles, folders, accounts or robots
empties the cache at once on this node, and (with PostgreSQL) on every node through NOTIFY;
entries also age out after a few seconds as a backstop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from robofleet.server.db.notify import pg_notify
from robofleet.server.db.tables import (
    AccessFolderRow,
    AccountRow,
    ApiKeyRow,
    RoleFolderRow,
    RoleRow,
    UserRoleRow,
    UserRow,
)
from robofleet.server.db.tables.robots import RobotRow
from robofleet.server.services.caller import Principal

CHANNEL = "robofleet_auth"
IDENTITY_ROWS = (
    AccessFolderRow,
    AccountRow,
    ApiKeyRow,
    RoleFolderRow,
    RoleRow,
    UserRoleRow,
    UserRow,
    RobotRow,
)
"""Rows whose change can change who a credential is or what it may do."""


@dataclass
class _Entry:
    principal: Principal
    generation: int
    stored_at: float
    expires_at: float | None


@dataclass
class PrincipalCache:
    ttl_seconds: float = 5.0
    max_entries: int = 10_000
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, credential: str) -> Principal | None:
        entry = self._entries.get(credential)
        now = time.monotonic()
        if entry is None or entry.generation != self._generation:
            return None
        if now - entry.stored_at > self.ttl_seconds:
            return None
        if entry.expires_at is not None and time.time() >= entry.expires_at:
            return None
        return entry.principal

    def put(
        self,
        credential: str,
        principal: Principal,
        *,
        generation: int,
        expires_at: float | None = None,
    ) -> None:
        with self._lock:
            if generation != self._generation:
                return  # something changed while we looked it up
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[credential] = _Entry(principal, generation, time.monotonic(), expires_at)

    @property
    def generation(self) -> int:
        return self._generation

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def on_notify(self, _payload: str) -> None:
        self.invalidate()

    def watch(self, uses_notify: bool) -> Callable[[], None]:
        """Invalidate whenever a write transaction touches identity rows."""

        def after_flush(session: Session, _flush: UOWTransaction) -> None:
            touched = any(
                isinstance(obj, IDENTITY_ROWS)
                for obj in (*session.new, *session.dirty, *session.deleted)
            )
            if not touched or session.info.get("auth_announced"):
                return
            session.info["auth_announced"] = True
            if uses_notify:
                pg_notify(session, CHANNEL, "changed")
            event.listen(session, "after_commit", lambda _s: self.invalidate(), once=True)

        event.listen(Session, "after_flush", after_flush)
        return lambda: event.remove(Session, "after_flush", after_flush)
