"""A node's listener that lost its PostgreSQL connection listens again and, since the
notifications sent meanwhile are lost, empties its caches (the cached credentials and queue
rules a missed notification would have emptied): a credential revoked during the outage is
not served from the cache until its entry ages out."""

from __future__ import annotations

import threading
import time

import psycopg

from robofleet.server.db.notify import PgListener, libpq_dsn
from tests.support import pg


def test_a_reconnected_listener_calls_its_resync_and_hears_again() -> None:
    url = pg.create_database("robofleet_listen")
    heard: list[str] = []
    resynced = threading.Event()
    listener = PgListener(
        url.replace("postgresql://", "postgresql+psycopg://"),
        {"robofleet_test_channel": heard.append},
        on_reconnect=resynced.set,
    )
    dsn = libpq_dsn(url)
    try:
        listener.start()
        assert listener.ready.wait(10)
        assert not resynced.is_set()  # the first connection is no reconnection
        with psycopg.connect(dsn, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            ).fetchall()
            assert ended == [(True,)]
            assert resynced.wait(30)
            deadline = time.monotonic() + 10
            while not heard and time.monotonic() < deadline:
                admin.execute("NOTIFY robofleet_test_channel, 'again'")
                time.sleep(0.1)
        assert heard and heard[0] == "again"
    finally:
        listener.stop()
        pg.drop_database(url)
