"""One account's bad rows never stall the scheduler for the others (issue 8, defect 1).

A queue whose abandon limit cannot be turned into a date (1e12 minutes, Infinity) used to make
the "abandon overdue tasks" duty raise OverflowError on every tick, for every account. Now each
duty runs per account (abandoning: per queue) in its own transaction: the limit is capped, and
a row that still fails (here: the store itself refuses to change one queue's tasks) fails its
owner alone, is logged once with its owner, and the other accounts' timers keep firing.

The bad values are written straight into the database, as an old version, a hand edit or a
restore could leave them: the API refuses them."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from robofleet.server.db import migrate
from robofleet.server.db.tables import AccountRow, QueueRow, TaskRow
from robofleet.server.domain.refs import new_guid
from robofleet.server.runtime import Runtime
from robofleet.server.runtime_setup import build_runtime
from robofleet.server.scheduler.loop import Scheduler
from robofleet.server.settings import Settings
from tests.acceptance.conftest import BACKENDS, database_url, make_tenant
from tests.support.queues import add, eventually, make_queue, read
from tests.support.server import SECRET_KEY, ServerProcess

ABANDONED, NEW = 6, 0


def store_url(server: ServerProcess) -> str:
    return server.database_url or f"sqlite:///{(server.data_dir / 'robofleet.db').resolve()}"


def poison_tasks_of(engine: Engine, queue_id: int) -> None:
    """Make the store itself refuse every change to the queue's tasks: a row no cap or
    validation can make right, standing for any bad row we have not thought of."""
    with engine.begin() as db:
        if engine.dialect.name == "postgresql":
            db.execute(
                text(
                    "CREATE OR REPLACE FUNCTION fuzz_poison() RETURNS trigger LANGUAGE plpgsql "
                    "AS $$ BEGIN RAISE EXCEPTION 'poisoned task row'; END $$"
                )
            )
            db.execute(
                text(
                    f"CREATE TRIGGER fuzz_poison_{queue_id} BEFORE UPDATE ON tasks FOR EACH ROW "
                    f"WHEN (OLD.queue_id = {int(queue_id)}) EXECUTE FUNCTION fuzz_poison()"
                )
            )
        else:
            db.execute(
                text(
                    f"CREATE TRIGGER fuzz_poison_{queue_id} BEFORE UPDATE ON tasks "
                    f"WHEN OLD.queue_id = {int(queue_id)} "
                    "BEGIN SELECT RAISE(ABORT, 'poisoned task row'); END"
                )
            )


def infinity(engine: Engine) -> str:
    return "'Infinity'::float" if engine.dialect.name == "postgresql" else "9e999"


def set_abandon_new_minutes(engine: Engine, queue_name: str, value_sql: str) -> int:
    with engine.begin() as db:
        db.execute(
            text(f"UPDATE queues SET abandon_new_minutes = {value_sql} WHERE name = :name"),
            {"name": queue_name},
        )
        return int(
            db.execute(
                text("SELECT id FROM queues WHERE name = :n"), {"n": queue_name}
            ).scalar_one()
        )


# --- through a real server ----------------------------------------------------------------------


@pytest.mark.parametrize("fresh_server", BACKENDS, indirect=True)
def test_a_poison_queue_does_not_stop_another_accounts_abandon_timer(
    fresh_server: ServerProcess,
) -> None:
    fresh_server.start()
    engine = create_engine(store_url(fresh_server))
    try:
        poisoned, healthy = make_tenant(fresh_server), make_tenant(fresh_server)
        # Account A: a queue whose limit overflows a date, one whose limit is infinite, and
        # one whose tasks the store refuses to change, each holding a New task.
        huge = make_queue(poisoned.api, AbandonNewMinutes=60)
        endless = make_queue(poisoned.api, AbandonNewMinutes=60)
        refused = make_queue(poisoned.api, AbandonNewMinutes=0.01)
        stuck = [add(poisoned.api, queue, "stuck") for queue in (huge, endless, refused)]
        set_abandon_new_minutes(engine, huge, "1e12")
        set_abandon_new_minutes(engine, endless, infinity(engine))
        refused_id = set_abandon_new_minutes(engine, refused, "0.01")
        poison_tasks_of(engine, refused_id)
        refused_guid = poisoned.api.get(f"/api/queue/read/{refused}").json()["guid"]

        # Account B's timer still fires.
        queue = make_queue(healthy.api, AbandonNewMinutes=0.03)
        idle = add(healthy.api, queue, "idle")
        eventually(lambda: read(healthy.api, idle["guid"])["status"] == ABANDONED)
        assert "New for more than" in read(healthy.api, idle["guid"])["error"]["message"]

        # A's tasks stay as they were; the refused queue's failure is logged once, with its
        # owner, although the scheduler retried it on every tick since.
        time.sleep(2)  # ten more ticks at 0.2 s
        assert [read(poisoned.api, task["guid"])["status"] for task in stuck] == [NEW] * 3
        failures = [
            line
            for line in fresh_server.output().splitlines()
            if "scheduler duty 'abandon overdue tasks' failed" in line
        ]
        assert len(failures) == 1, fresh_server.output()[-3000:]
        assert refused_guid in failures[0] and poisoned.guid in failures[0]
        assert "OverflowError" not in fresh_server.output()
        poisoned.api.close()
        healthy.api.close()
    finally:
        engine.dispose()


# --- the scheduler in process, one tick at a time ------------------------------------------------


@pytest.fixture(params=BACKENDS)
def runtime(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url_factory: list[str]
) -> Iterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url(request.param, pg_url_factory),
        secret_key=SECRET_KEY,
        scheduler_enabled=False,
    )
    made = build_runtime(settings)
    migrate.upgrade(made.db.engine)
    yield made
    made.db.dispose()


def queue_with_an_old_task(engine: Engine, account: str, minutes: float) -> tuple[int, str]:
    """An account with a queue abandoning New tasks after `minutes`, holding one New task an
    hour old; returns the task's id and the account's GUID."""
    from sqlalchemy.orm import Session

    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with Session(engine) as session, session.begin():
        owner = AccountRow(login=account)
        session.add(owner)
        session.flush()
        queue = QueueRow(account_id=owner.id, name=account, abandon_new_minutes=minutes)
        session.add(queue)
        session.flush()
        task = TaskRow(
            guid=new_guid(),
            account_id=owner.id,
            queue_id=queue.id,
            name="old",
            status=NEW,
            status_changed_at=long_ago,
            created_at=long_ago,
        )
        session.add(task)
        session.flush()
        return task.id, owner.guid


def status_of(engine: Engine, task_id: int) -> int:
    with engine.connect() as db:
        return int(db.execute(text(f"SELECT status FROM tasks WHERE id = {task_id}")).scalar_one())


def test_each_account_runs_alone_and_a_failure_is_logged_once(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    engine = runtime.db.engine
    first, _ = queue_with_an_old_task(engine, "first", 1)
    bad, bad_account = queue_with_an_old_task(engine, "bad", 1)
    last, _ = queue_with_an_old_task(engine, "last", 1)
    with engine.connect() as db:
        bad_queue = int(
            db.execute(text(f"SELECT queue_id FROM tasks WHERE id = {bad}")).scalar_one()
        )
    poison_tasks_of(engine, bad_queue)
    scheduler = Scheduler(runtime)
    with caplog.at_level(logging.INFO, logger="robofleet.scheduler"):
        for _ in range(3):
            assert scheduler.tick()
    assert [status_of(engine, task) for task in (first, bad, last)] == [ABANDONED, NEW, ABANDONED]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "abandon overdue tasks" in errors[0].getMessage()
    assert bad_account in errors[0].getMessage()


def test_limits_that_overflow_a_date_abandon_nothing_and_fail_nothing(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    engine = runtime.db.engine
    huge, _ = queue_with_an_old_task(engine, "huge", 1e12)
    endless, _ = queue_with_an_old_task(engine, "endless", 1)
    with engine.begin() as db:
        db.execute(
            text(
                f"UPDATE queues SET abandon_new_minutes = {infinity(engine)} "
                f"WHERE id = (SELECT queue_id FROM tasks WHERE id = {endless})"
            )
        )
    healthy, _ = queue_with_an_old_task(engine, "healthy", 1)
    with caplog.at_level(logging.INFO, logger="robofleet.scheduler"):
        assert Scheduler(runtime).tick()
    assert [status_of(engine, t) for t in (huge, endless, healthy)] == [NEW, NEW, ABANDONED]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
