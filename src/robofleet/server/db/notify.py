"""PostgreSQL LISTEN/NOTIFY: how server nodes tell each other that work is waiting."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger("robofleet.notify")


def pg_notify(session: Session, channel: str, payload: str) -> None:
    """Queue a notification; PostgreSQL delivers it only if the transaction commits."""
    session.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
    )


def libpq_dsn(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PgListener:
    """A thread holding one connection that LISTENs on every channel given and hands each
    payload to its channel's handler. One connection for all channels: each server process
    would otherwise hold one per channel, and PostgreSQL's connections are few."""

    def __init__(self, sqlalchemy_url: str, handlers: Mapping[str, Callable[[str], None]]) -> None:
        self._dsn = libpq_dsn(sqlalchemy_url)
        self._handlers = dict(handlers)
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
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    for channel in self._handlers:
                        conn.execute(f'LISTEN "{channel}"')
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
