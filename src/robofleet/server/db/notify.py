"""PostgreSQL LISTEN/NOTIFY: how server nodes tell each other that work is waiting."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from robofleet.server.db.commit_hooks import on_commit

log = logging.getLogger("robofleet.notify")


def pg_notify(session: Session, channel: str, payload: str) -> None:
    """Queue a notification; PostgreSQL delivers it only if the transaction commits."""
    session.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
    )


def announce_at_commit(
    session: Session,
    channel: str,
    payload: str,
    *,
    notifies: bool,
    local: Callable[[str], None],
) -> None:
    """Announce `payload` on `channel` when the session's transaction commits, once however
    often it is announced in it (a batch of fires creates many jobs for one group).

    With `notifies` (PostgreSQL) the NOTIFYs go out in one statement just before the commit,
    so every node hears them only if the transaction commits; otherwise `local(payload)` runs
    after the commit, in this process (SQLite has one)."""
    key = ("announce", channel)
    pending: dict[str, None] | None = session.info.get(key)
    if pending is None:
        pending = session.info[key] = {}
        if notifies:
            event.listen(session, "before_commit", partial(_notify_pending, key=key), once=True)
        else:
            on_commit(session, partial(_call_pending, session, key=key, local=local))
    pending[payload] = None


def _notify_pending(session: Session, *, key: tuple[str, str]) -> None:
    payloads = list(session.info.pop(key, {}))
    if payloads:
        session.execute(
            text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
            {"channel": key[1], "payloads": payloads},
        )


def _call_pending(session: Session, *, key: tuple[str, str], local: Callable[[str], None]) -> None:
    for payload in session.info.pop(key, {}):
        local(payload)


def libpq_dsn(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PgListener:
    """A thread holding one connection that LISTENs on every channel given and hands each
    payload to its channel's handler. One connection for all channels: each server process
    would otherwise hold one per channel, and PostgreSQL's connections are few."""

    def __init__(
        self,
        sqlalchemy_url: str,
        handlers: Mapping[str, Callable[[str], None]],
        *,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self._dsn = libpq_dsn(sqlalchemy_url)
        self._handlers = dict(handlers)
        # Notifications sent while the connection was down are lost: whatever they would
        # have told (a cache to empty) is assumed once listening again.
        self._on_reconnect = on_reconnect
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listen", daemon=True)
        self.ready = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        backoff = 0.5
        listened = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    for channel in self._handlers:
                        conn.execute(f'LISTEN "{channel}"')
                    if listened and self._on_reconnect is not None:
                        self._on_reconnect()
                    listened = True
                    self.ready.set()
                    backoff = 0.5
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            handler = self._handlers.get(note.channel)
                            if handler is not None:
                                handler(note.payload)
            except psycopg.Error as exc:
                self.ready.clear()
                log.warning("listener lost its connection (%s); retrying in %.1fs", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)
