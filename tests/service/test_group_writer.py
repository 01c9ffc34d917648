"""SQLite's group commit (db.group_writer) under real threads on a real database file: writes
that arrive together share one COMMIT, a failing write undoes only its own work, and no
writer is answered (nor its after-commit work run) before the COMMIT that holds its write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text

from robofleet.server.db.commit_hooks import on_commit
from robofleet.server.db.group_writer import GroupFailed
from robofleet.server.db.raw_write import run_held
from robofleet.server.db.session import Database
from robofleet.server.db.system_actors import TASK_TRAFFIC
from robofleet.server.domain.errors import Conflict
from tests.service.items_db import Refused, committed, items_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    yield from items_database(tmp_path / "group.db")


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_writes_share_commits_fail_alone_and_are_answered_after_their_commit(
    db: Database,
) -> None:
    path = str(db.engine.url.database)
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    writers, bad = 40, {7, 23}
    hold_first = threading.Event()
    answered_before_commit: list[int] = []
    hooks_before_commit: list[int] = []
    hooks_ran: list[int] = []
    errors: dict[int, BaseException] = {}

    def hook(n: int) -> None:
        if n not in committed(path):
            hooks_before_commit.append(n)
        hooks_ran.append(n)

    def write(n: int) -> None:
        try:
            with db.write(actor=TASK_TRAFFIC) as session:
                session.execute(text("INSERT INTO items (n, note) VALUES (:n, 'x')"), {"n": n})
                on_commit(session, lambda: hook(n))
                if n == 0:
                    hold_first.wait(10)
                if n in bad:
                    raise Refused(n)
        except Exception as exc:
            errors[n] = exc
            return
        if n not in committed(path):
            answered_before_commit.append(n)

    first = threading.Thread(target=write, args=(0,))
    first.start()
    group_writer = db._group_writer
    assert group_writer is not None
    _wait_until(lambda: group_writer._group is not None)
    rest = [threading.Thread(target=write, args=(n,)) for n in range(1, writers)]
    for thread in rest:
        thread.start()
    _wait_until(lambda: group_writer._waiting == writers - 1)
    hold_first.set()
    for thread in [first, *rest]:
        thread.join(20)
        assert not thread.is_alive()

    assert {n: type(e) for n, e in errors.items()} == dict.fromkeys(bad, Refused)
    assert committed(path) == set(range(writers)) - bad
    assert answered_before_commit == []
    assert hooks_before_commit == []
    assert sorted(hooks_ran) == sorted(set(range(writers)) - bad)  # never for a rolled-back one
    assert len(commits) < writers / 2  # the 40 writes shared a commit or two, not one each


def test_a_clash_is_a_conflict_and_the_next_write_goes_on(db: Database) -> None:
    with db.write(actor=TASK_TRAFFIC) as session:
        session.execute(text("INSERT INTO items (n) VALUES (1)"))
    with pytest.raises(Conflict), db.write(actor=TASK_TRAFFIC) as session:
        session.execute(text("INSERT INTO items (n) VALUES (1)"))
    with db.write(actor=TASK_TRAFFIC) as session:
        session.execute(text("INSERT INTO items (n) VALUES (2)"))
    assert committed(str(db.engine.url.database)) == {1, 2}


def test_a_failed_commit_fails_every_write_of_its_group(db: Database) -> None:
    """Nothing is acknowledged that is not stored: if the shared COMMIT fails, each member
    of the group gets the failure (here the commit is refused by a deferred foreign key)."""
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE children (n INTEGER REFERENCES items (n) DEFERRABLE "
                "INITIALLY DEFERRED)"
            )
        )
    with pytest.raises(GroupFailed), db.write(actor=TASK_TRAFFIC) as session:
        session.execute(text("INSERT INTO children (n) VALUES (99)"))
    assert committed(str(db.engine.url.database)) == set()
    with db.write(actor=TASK_TRAFFIC) as session:  # the writer is still usable
        session.execute(text("INSERT INTO items (n) VALUES (3)"))
    assert committed(str(db.engine.url.database)) == {3}


def test_a_turn_if_free_is_none_while_another_holds_it_and_commits_though_one_waits(
    db: Database,
) -> None:
    """take_turn_if_free (for the event loop): no turn at all while another thread holds
    it, and a turn whose group commits when it ends even with a writer waiting to join, so
    its holder never waits for another thread's COMMIT."""
    path = str(db.engine.url.database)
    writer = db.group_writer
    assert writer is not None
    inside, let_go = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write(actor=TASK_TRAFFIC) as session:
            session.execute(text("INSERT INTO items (n) VALUES (1)"))
            inside.set()
            let_go.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(10)
    assert writer.take_turn_if_free() is None
    let_go.set()
    holder.join()

    waiter_inside, finish_waiter, returned = (threading.Event() for _ in range(3))

    def wait_to_write() -> None:
        with db.write(actor=TASK_TRAFFIC) as session:
            session.execute(text("INSERT INTO items (n) VALUES (3)"))
            waiter_inside.set()
            finish_waiter.wait(10)

    def hold_if_free() -> None:
        taken = writer.take_turn_if_free()
        assert taken is not None
        with writer.holding(taken) as turn:
            insert = text("INSERT INTO items VALUES (2, '')")
            run_held(turn, lambda: turn.connection.execute(insert))
        waiting = threading.Thread(target=wait_to_write)
        waiting.start()
        _wait_until(lambda: writer._waiting == 1)
        assert committed(path) == {1}  # nothing of the taken turn before it ends
        writer.end_taken_turn(taken)
        returned.set()

    free_holder = threading.Thread(target=hold_if_free)
    free_holder.start()
    try:
        assert returned.wait(10)  # not held up by the waiting writer's write
        assert committed(path) == {1, 2}
        assert waiter_inside.wait(10)
    finally:
        finish_waiter.set()
        free_holder.join()
    _wait_until(lambda: committed(path) == {1, 2, 3})
