"""Database.raw_write (db.raw_write) keeps the group writer's rules under real threads on a
real SQLite file, mixed with session writes: each raw write in its own savepoint (a failing
one undoes only its own work), its after-commit work run after the COMMIT, no writer answered
before the COMMIT that holds its write, and a driver error raised as the session path's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from robofleet.server.db.session import Database
from robofleet.server.db.system_actors import TASK_TRAFFIC
from robofleet.server.domain.errors import Conflict
from tests.service.items_db import Refused, committed, items_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    yield from items_database(tmp_path / "raw.db")


def test_raw_and_session_writes_share_commits_and_fail_alone(db: Database) -> None:
    path = str(db.engine.url.database)
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    writers, bad = 40, {5, 6, 17, 30}
    start = threading.Barrier(writers)
    answered_before_commit: list[int] = []
    hooks_before_commit: list[int] = []
    errors: dict[int, BaseException] = {}

    def hook(n: int) -> None:
        if n not in committed(path):
            hooks_before_commit.append(n)

    def write(n: int) -> None:
        start.wait(10)
        try:
            if n % 2:  # odd writers through the session, even ones raw
                with db.write(actor=TASK_TRAFFIC) as session:
                    session.execute(text("INSERT INTO items (n, note) VALUES (:n, 's')"), {"n": n})
                    if n in bad:
                        raise Refused(n)
            else:
                with db.raw_write() as raw:
                    raw.connection.execute("INSERT INTO items (n, note) VALUES (?, 'r')", (n,))
                    raw.after_commit.append(lambda: hook(n))
                    if n in bad:
                        raise Refused(n)
            if n not in committed(path):
                answered_before_commit.append(n)
        except Exception as exc:
            errors[n] = exc

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert set(errors) == bad
    assert all(isinstance(error, Refused) for error in errors.values())
    assert committed(path) == set(range(writers)) - bad
    assert answered_before_commit == []
    assert hooks_before_commit == []
    assert len(commits) < writers  # commits were shared


def test_a_driver_error_is_raised_as_on_the_session_path(db: Database) -> None:
    with db.raw_write() as raw:
        raw.connection.execute("INSERT INTO items (n, note) VALUES (1, 'kept')")
    with pytest.raises(Conflict) as clash, db.raw_write() as raw:
        raw.connection.execute("INSERT INTO items (n, note) VALUES (2, 'undone')")
        raw.connection.execute("INSERT INTO items (n, note) VALUES (1, 'again')")
    assert clash.value.code == "integrity_conflict"
    with pytest.raises(OperationalError), db.raw_write() as raw:
        raw.connection.execute("INSERT INTO items (n, note) VALUES (3, 'undone')")
        raw.connection.execute("SELECT * FROM no_such_table")
    assert committed(str(db.engine.url.database)) == {1}
