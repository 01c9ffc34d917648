"""Announcements made inside a transaction (job wake-ups, task arrivals) go out once per
payload, and only when the transaction commits: locally after the commit (SQLite), or as
NOTIFYs that PostgreSQL delivers with the commit."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from robofleet.server.db.notify import announce_at_commit, libpq_dsn
from tests.support import pg


class Rollback(Exception):
    pass


def test_local_announcements_run_once_each_after_the_commit_and_never_on_rollback() -> None:
    heard: list[str] = []
    engine = create_engine("sqlite://")
    with Session(engine) as session, session.begin():
        for payload in ("1:0", "1:7", "1:0", "1:7"):
            announce_at_commit(session, "jobs", payload, notifies=False, local=heard.append)
        assert heard == []  # nothing before the commit
    assert heard == ["1:0", "1:7"]
    with pytest.raises(Rollback), Session(engine) as session, session.begin():
        announce_at_commit(session, "jobs", "2:0", notifies=False, local=heard.append)
        raise Rollback
    assert heard == ["1:0", "1:7"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = pg.create_database("robofleet_notify")
    try:
        yield url
    finally:
        pg.drop_database(url)


def test_notifies_are_delivered_with_the_commit_once_per_payload(pg_url: str) -> None:
    engine = create_engine(pg_url)
    with psycopg.connect(libpq_dsn(pg_url), autocommit=True) as listener:
        listener.execute('LISTEN "jobs"')
        with Session(engine) as session, session.begin():
            for payload in ("1:0", "1:7", "1:0"):
                announce_at_commit(session, "jobs", payload, notifies=True, local=_never)
        with pytest.raises(Rollback), Session(engine) as session, session.begin():
            announce_at_commit(session, "jobs", "2:0", notifies=True, local=_never)
            raise Rollback
        heard = [note.payload for note in listener.notifies(timeout=1.0)]
    engine.dispose()
    assert heard == ["1:0", "1:7"]


def _never(payload: str) -> None:
    raise AssertionError(f"a PostgreSQL announcement ran locally: {payload}")
