"""The front's SQLite write lane (api.fast.write_lane) on a real database file, a real event
loop and its real thread: the calls waiting share one COMMIT, each is answered only once that
COMMIT holds its write, a call that fails undoes only its own work (and drops its after-commit
work), and a call that needs a turn of its own runs again, whole, on the worker threads."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from robofleet.server.api.fast.workers import Workers
from robofleet.server.api.fast.write_lane import HERE_PATIENCE, WriteLane
from robofleet.server.db.group_writer import TurnHeld
from robofleet.server.db.session import Database
from robofleet.server.db.system_actors import TASK_TRAFFIC
from robofleet.server.domain.errors import Conflict
from tests.service.items_db import Refused, committed, items_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    yield from items_database(tmp_path / "lane.db")


def _lane(db: Database, patience: float = HERE_PATIENCE) -> WriteLane:
    assert db.group_writer is not None
    return WriteLane(db.group_writer, Workers(2).run, patience=patience)


def _insert(db: Database, n: int, note: str = "x") -> int:
    with db.raw_write() as write:
        write.connection.execute("INSERT INTO items (n, note) VALUES (?, ?)", (n, note)).close()
    return n


def _raised(lane: WriteLane, call: Callable[[], object]) -> BaseException | None:
    """What the lane's answer to `call` raised (None: it answered)."""

    async def run() -> BaseException | None:
        try:
            await lane.run(call)
        except BaseException as exc:
            return exc
        return None

    return asyncio.run(run())


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_calls_share_a_commit_fail_alone_and_are_answered_after_it(db: Database) -> None:
    path = str(db.engine.url.database)
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    lane = _lane(db)
    calls, refused_after, refused_inside, clashing = 40, {7}, {11}, {19}
    hold_first = threading.Event()
    hooks_ran: list[int] = []
    hooks_before_commit: list[int] = []

    def hook(n: int) -> None:
        if n not in committed(path):
            hooks_before_commit.append(n)
        hooks_ran.append(n)

    def call(n: int) -> int:
        if n == 0:
            hold_first.wait(10)
        with db.raw_write() as write:
            write.connection.execute("INSERT INTO items (n, note) VALUES (?, 'x')", (n,))
            write.after_commit.append(lambda: hook(n))
            if n in refused_inside:
                raise Refused(n)
            if n in clashing:  # the row of call 0, committed before: a driver error
                write.connection.execute("INSERT INTO items (n, note) VALUES (0, 'again')")
        if n in refused_after:
            raise Refused(n)  # after its write: the call's own savepoint undoes it
        return n

    async def run_all() -> tuple[list[int], dict[int, BaseException], list[int]]:
        answered_before_commit: list[int] = []
        answers: list[int] = []
        errors: dict[int, BaseException] = {}

        async def one(n: int) -> None:
            try:
                answers.append(await lane.run(call, n))
            except Exception as exc:
                errors[n] = exc
                return
            if n not in committed(path):
                answered_before_commit.append(n)

        first = asyncio.create_task(one(0))
        await asyncio.sleep(0.05)  # call 0 is on the lane's thread, waiting
        rest = [asyncio.create_task(one(n)) for n in range(1, calls)]
        await asyncio.to_thread(_wait_until, lambda: lane._inbox.qsize() == calls - 1)
        hold_first.set()
        await asyncio.gather(first, *rest)
        return answers, errors, answered_before_commit

    answers, errors, answered_before_commit = asyncio.run(run_all())

    failed = refused_after | refused_inside | clashing
    assert sorted(answers) == sorted(set(range(calls)) - failed)
    assert {n: type(exc) for n, exc in errors.items()} == {
        7: Refused,
        11: Refused,
        19: Conflict,  # the integrity clash, as the session path names it
    }
    assert committed(path) == set(range(calls)) - failed
    assert answered_before_commit == []
    assert hooks_before_commit == []
    assert sorted(hooks_ran) == sorted(set(range(calls)) - failed)
    # Call 0 alone, then the 39 that waited meanwhile in one group.
    assert len(commits) == 2


def test_a_call_needing_its_own_turn_runs_again_whole_on_the_workers(db: Database) -> None:
    path = str(db.engine.url.database)
    lane = _lane(db)
    runs: list[str] = []

    def lean_then_session(n: int) -> str:
        thread = threading.current_thread().name
        runs.append(thread)
        _insert(db, n, "lean")  # kept only where the whole call succeeds
        with db.write(actor=TASK_TRAFFIC) as session:
            session.execute(text("UPDATE items SET note = 'session' WHERE n = :n"), {"n": n})
        return thread

    async def run() -> tuple[str, int]:
        answer: str = await lane.run(lean_then_session, 1)
        plain: int = await lane.run(_insert, db, 2)
        return answer, plain

    answer, plain = asyncio.run(run())

    assert runs[0] == "write-lane"
    assert runs[1:] == [answer]
    assert answer.startswith("fast-front")
    assert plain == 2
    assert committed(path) == {1, 2}
    with db.read() as session:
        rows = session.execute(text("SELECT n, note FROM items")).all()
    notes = {n: note for n, note in rows}
    assert notes == {1: "session", 2: "x"}


def test_a_turn_of_its_own_on_the_lane_thread_is_refused_not_waited_for(db: Database) -> None:
    writer = db.group_writer
    assert writer is not None
    with writer.held_turn(), pytest.raises(TurnHeld), db.write(actor=TASK_TRAFFIC):
        pass
    assert writer.held() is None
    with db.write(actor=TASK_TRAFFIC) as session:  # the turn was handed back
        session.execute(text("INSERT INTO items (n, note) VALUES (5, 'x')"))
    assert committed(str(db.engine.url.database)) == {5}


def test_a_driver_error_answers_its_caller_and_the_lane_goes_on(db: Database) -> None:
    lane = _lane(db)

    def broken() -> None:
        with db.raw_write() as write:
            write.connection.execute("INSERT INTO no_such_table VALUES (1)")

    error = _raised(lane, broken)
    assert isinstance(error, DBAPIError)
    assert "no_such_table" in str(error)
    assert asyncio.run(lane.run(_insert, db, 3)) == 3


class _Interrupted(BaseException):
    """Not an Exception: what the lane's thread must still hand over, not die of."""


def test_a_call_raising_beyond_exception_is_answered_and_the_lane_goes_on(db: Database) -> None:
    lane = _lane(db)

    def interrupted() -> None:
        _insert(db, 8)
        raise _Interrupted

    assert isinstance(_raised(lane, interrupted), _Interrupted)
    assert asyncio.run(lane.run(_insert, db, 9)) == 9
    assert committed(str(db.engine.url.database)) == {9}


def test_a_write_undone_inside_a_call_leaves_the_calls_other_writes(db: Database) -> None:
    """A raw write a call undoes (and goes on from) takes only its own work with it: the
    call's writes before and after it stay."""
    lane = _lane(db)

    def insert_then_maybe_refuse(n: int, refuse: bool) -> None:
        with db.raw_write() as write:
            write.connection.execute("INSERT INTO items (n, note) VALUES (?, 'x')", (n,))
            if refuse:
                raise Refused(n)

    def call() -> str:
        for n, refuse in ((1, True), (2, False), (3, True), (4, False)):
            with contextlib.suppress(Refused):
                insert_then_maybe_refuse(n, refuse)
        return "done"

    assert asyncio.run(lane.run(call)) == "done"
    assert committed(str(db.engine.url.database)) == {2, 4}


# run_here: the calls that only run statements, on the event loop's own thread.


def test_calls_run_here_share_a_commit_on_the_loops_thread(db: Database) -> None:
    path = str(db.engine.url.database)
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    lane = _lane(db)
    calls, refused = 30, {4, 17}
    threads: set[str] = set()
    answered_before_commit: list[int] = []
    hooks_ran: list[int] = []

    def call(n: int) -> int:
        threads.add(threading.current_thread().name)
        with db.raw_write() as write:
            write.connection.execute("INSERT INTO items (n, note) VALUES (?, 'x')", (n,))
            write.after_commit.append(lambda: hooks_ran.append(n))
        if n in refused:
            raise Refused(n)
        return n

    async def run_all() -> tuple[list[int], list[BaseException]]:
        async def one(n: int) -> int:
            answer: int = await lane.run_here(call, n)
            if n not in committed(path):
                answered_before_commit.append(n)
            return answer

        outcomes = await asyncio.gather(*(one(n) for n in range(calls)), return_exceptions=True)
        return (
            [n for n in outcomes if isinstance(n, int)],
            [e for e in outcomes if isinstance(e, BaseException)],
        )

    answers, errors = asyncio.run(run_all())

    assert sorted(answers) == sorted(set(range(calls)) - refused)
    assert sorted(e.args[0] for e in errors if isinstance(e, Refused)) == sorted(refused)
    assert len(errors) == len(refused)
    assert committed(path) == set(range(calls)) - refused
    assert sorted(hooks_ran) == sorted(set(range(calls)) - refused)
    assert answered_before_commit == []
    assert threads == {threading.main_thread().name}  # asyncio.run's loop runs here
    assert lane._thread is None  # the lane's thread was never needed
    assert len(commits) == 1  # all thirty arrived in one turn of the loop: one group


@pytest.mark.parametrize(
    ("patience", "runs_on"),
    [(30.0, "MainThread"), (0.05, "write-lane")],
    ids=["hold-within-patience-runs-on-the-loop", "longer-hold-goes-to-the-lane"],
)
def test_run_here_never_blocks_the_loop_on_a_turn_another_thread_holds(
    db: Database, patience: float, runs_on: str
) -> None:
    """While a session write holds the writer's turn, the loop goes on turning; the call runs
    once the turn is free: on the loop's thread if that came within the lane's patience,
    else on the lane's thread; either way after the session's write."""
    path = str(db.engine.url.database)
    hold_seconds = 0.6
    lane = _lane(db, patience)
    held = threading.Event()
    order: list[str] = []

    def session_write() -> None:
        with db.write(actor=TASK_TRAFFIC) as session:
            session.execute(text("INSERT INTO items (n, note) VALUES (1, 'session')"))
            held.set()
            time.sleep(hold_seconds)
            order.append("session")

    def call() -> str:
        order.append("call")
        _insert(db, 2)
        return threading.current_thread().name

    async def run() -> tuple[str, bool]:
        writer = threading.Thread(target=session_write)
        writer.start()
        await asyncio.to_thread(held.wait, 10)
        call_answered = asyncio.create_task(lane.run_here(call))
        await asyncio.sleep(0.1)  # returns only if the loop turns while the call waits
        loop_turned_meanwhile = "session" not in order  # the session still held the turn
        thread: str = await call_answered
        writer.join()
        return thread, loop_turned_meanwhile

    thread, loop_turned_meanwhile = asyncio.run(run())

    assert loop_turned_meanwhile
    assert thread == runs_on
    assert order == ["session", "call"]
    assert committed(path) == {1, 2}


def test_a_call_run_here_needing_its_own_turn_runs_again_on_the_workers(db: Database) -> None:
    path = str(db.engine.url.database)
    lane = _lane(db)

    def lean_then_session(n: int) -> str:
        _insert(db, n, "lean")
        with db.write(actor=TASK_TRAFFIC) as session:
            session.execute(text("UPDATE items SET note = 'session' WHERE n = :n"), {"n": n})
        return threading.current_thread().name

    assert asyncio.run(lane.run_here(lean_then_session, 1)).startswith("fast-front")
    assert committed(path) == {1}
    with db.read() as session:
        assert session.execute(text("SELECT note FROM items")).scalar_one() == "session"
