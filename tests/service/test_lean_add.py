"""A task add (single and bulk) by a caller whose queue is cached answers without the ORM
(services.tasks.lean_add): on PostgreSQL one statement on the driver pool, on SQLite
prepared statements in the group writer's turn. Its answers and the rows it stores (tasks and
their history) are the session path's; every other case falls back to the session path with
nothing changed. Which path answered: the pool's statement count and the ORM write sessions
the database began."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from robofleet.server.db.tables import QueueRow, TaskEventRow, TaskRow
from tests.service.conftest import Service, Tenant
from tests.service.lean_paths import (
    Paths,
    forget_queues,
    new_queue,
    post,
    robot_and_cached_queue,
    robot_client,
    statements_per_fallback,
)

VARYING_ANSWER = ("id", "guid", "name", "created", "updated")
VARYING_ROW = ("id", "guid", "name", "created_at", "updated_at", "status_changed_at")
LATER = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0).isoformat()
FIELDS: dict[str, Any] = {
    "Priority": 3,
    "Parameters": {"n": 1, "deep": [1, None, 2.5], "text": "é"},
    "Tags": "b;a;b",
    "Description": "d",
    "Comment": "c",
    "Deadline": LATER,
    "Retries": 2,
}


def _alike(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in VARYING_ANSWER}


def _stored(service: Service, guids: list[str]) -> list[tuple[dict[str, Any], list[Any]]]:
    """Each task's columns (but those that vary) and its history (from, to, actor, reason,
    at the task's creation)."""
    with service.runtime.db.read() as session:
        rows = {t.guid: t for t in session.scalars(select(TaskRow).where(TaskRow.guid.in_(guids)))}
        out = []
        for guid in guids:
            task = rows[guid]
            events = session.scalars(
                select(TaskEventRow)
                .where(TaskEventRow.task_id == task.id)
                .order_by(TaskEventRow.id)
            ).all()
            columns = {
                c.key: getattr(task, c.key)
                for c in TaskRow.__table__.columns
                if c.key not in VARYING_ROW
            }
            history = [
                (
                    e.account_id,
                    e.from_status,
                    e.to_status,
                    e.actor,
                    e.reason,
                    e.at == task.created_at,
                )
                for e in events
            ]
            out.append((columns, history))
        return out


def test_create_is_lean_and_answers_as_the_session_path(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot = robot_client(store_tenant)
    queue = new_queue(store_tenant)
    for client in (robot, store_tenant.api):
        forget_queues(service)
        paths.since()
        first = post(client, "/api/task/create", {"Queue": queue, "Name": "one", **FIELDS})
        assert paths.answered() == "session"  # the queue was not cached: the session path
        second = post(client, "/api/task/create", {"Queue": queue, "Name": "two", **FIELDS})
        assert paths.answered() == "lean"
        assert _alike(second) == _alike(first)
        session_row, lean_row = _stored(service, [first["guid"], second["guid"]])
        assert lean_row == session_row
        # Read back, the task is what the add answered.
        read = store_tenant.api.get(f"/api/task/read/{second['guid']}")
        assert read.status_code == 200, read.text
        assert _alike(read.json()) == _alike(second)
    # A postponed task and a plain one (defaults) alike.
    for fields in ({"PostponedUntil": LATER}, {}, {"Name": 42}):
        forget_queues(service)
        body = {"Queue": queue, "Name": "p", **fields}
        first = post(robot, "/api/task/create", body)
        paths.since()
        second = post(robot, "/api/task/create", body)
        assert paths.answered() == "lean"
        assert _alike(second) == _alike(first)
        session_row, lean_row = _stored(service, [first["guid"], second["guid"]])
        assert lean_row == session_row


def test_unique_names_are_lean_while_free(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot = robot_client(store_tenant)
    queue = new_queue(store_tenant, UniqueTasks=True)
    forget_queues(service)
    paths.since()
    first = post(robot, "/api/task/create", {"Queue": queue, "Name": "u1", **FIELDS})
    assert paths.answered() == "session"
    second = post(robot, "/api/task/create", {"Queue": queue, "Name": "u2", **FIELDS})
    assert paths.answered() == "lean"
    assert _alike(second) == _alike(first)
    session_row, lean_row = _stored(service, [first["guid"], second["guid"]])
    assert lean_row[0]["unique_name"] == "u2"  # the name is held by the unique constraint
    assert {**lean_row[0], "unique_name": "u1"} == session_row[0]
    assert lean_row[1] == session_row[1]
    bulk = post(
        robot, "/api/task/bulkCreate", {"Queue": queue, "Tasks": [{"Name": "u3"}, {"Name": "u4"}]}
    )
    assert paths.answered() == "lean" and bulk["created"] == 2


def test_bulk_create_is_lean_and_answers_as_the_session_path(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot = robot_client(store_tenant)
    queue = new_queue(store_tenant)
    tasks = [{"Name": f"t{n}", **FIELDS} for n in range(5)]
    tasks[2] = {"Name": "bad", "Priority": 9}
    tasks[3] = {"Name": "postponed", "PostponedUntil": LATER}
    body = {"Queue": queue, "Tasks": tasks, "Mode": "each"}
    forget_queues(service)
    paths.since()
    first = post(robot, "/api/task/bulkCreate", body)
    assert paths.answered() == "session"
    second = post(robot, "/api/task/bulkCreate", body)
    assert paths.answered() == "lean"
    assert {k: v for k, v in second.items() if k != "guids"} == {
        k: v for k, v in first.items() if k != "guids"
    }
    assert second["created"] == 4 and [f["index"] for f in second["failed"]] == [2]
    assert _stored(service, second["guids"]) == _stored(service, first["guids"])
    # Stored in the order given (ids ascending).
    with service.runtime.db.read() as session:
        ids = dict(
            session.execute(
                select(TaskRow.guid, TaskRow.id).where(TaskRow.guid.in_(second["guids"]))
            ).all()
        )
    assert [ids[g] for g in second["guids"]] == sorted(ids.values())

    # All or nothing with a bad item: the same 422 from either path, nothing added.
    refused = {"Queue": queue, "Tasks": [{"Name": "x"}, {"Name": "y", "Priority": 0}]}
    lean_answer = robot.post("/api/task/bulkCreate", json=refused)
    forget_queues(service)
    session_answer = robot.post("/api/task/bulkCreate", json=refused)
    assert lean_answer.status_code == session_answer.status_code == 422
    strip = ("timestamp",)
    assert {k: v for k, v in lean_answer.json().items() if k not in strip} == {
        k: v for k, v in session_answer.json().items() if k not in strip
    }


def test_what_the_lean_add_leaves_to_the_session_path(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot = robot_client(store_tenant)
    queue = new_queue(store_tenant)
    unique = new_queue(store_tenant, UniqueTasks=True)
    for ref in (queue, unique):
        post(robot, "/api/task/create", {"Queue": ref, "Name": "warm"})  # caches the queue
    # Keys and client GUIDs already used: tests.service.test_lean_add_keyed, _guids.
    # A queue demanding unique names: a name taken, or given twice, and the session path
    # refuses it (naming the task); on PostgreSQL the lean statement ran and added nothing.
    unique_tries = statements_per_fallback(service)
    paths.since()
    duplicate = post(robot, "/api/task/create", {"Queue": unique, "Name": "warm"}, status=409)
    assert duplicate["code"] == "duplicate_task_name"
    assert paths.since()[0] == unique_tries and paths.sessions > 0
    paths.since()
    taken = post(
        robot,
        "/api/task/bulkCreate",
        {"Queue": unique, "Tasks": [{"Name": "new"}, {"Name": "warm"}], "Mode": "each"},
    )
    assert [f["index"] for f in taken["failed"]] == [1] and taken["created"] == 1
    assert paths.since()[0] == unique_tries
    twice = post(
        robot,
        "/api/task/bulkCreate",
        {"Queue": unique, "Tasks": [{"Name": "x2"}, {"Name": "x2"}], "Mode": "each"},
    )
    assert [f["index"] for f in twice["failed"]] == [1]
    assert paths.answered() == "session"
    # An unknown queue: 404 from the session path.
    post(robot, "/api/task/create", {"Queue": "no-such-queue", "Name": "x"}, status=404)
    post(
        robot,
        "/api/task/bulkCreate",
        {"Queue": "no-such-queue", "Tasks": [{"Name": "x"}]},
        status=404,
    )
    assert paths.answered() == "session"
    # Every item refused in "each" mode: nothing to add, the session path answers.
    nothing = post(
        robot,
        "/api/task/bulkCreate",
        {"Queue": queue, "Tasks": [{"Name": "x", "Priority": 7}], "Mode": "each"},
    )
    assert nothing["created"] == 0 and len(nothing["failed"]) == 1
    assert paths.answered() == "session"


def test_a_watched_queue_announces_the_arrival(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    arrivals = service.runtime.task_arrivals
    assert arrivals is not None
    robot, queue = robot_and_cached_queue(store_tenant)
    with service.runtime.db.read() as session:
        queue_id = session.scalar(select(QueueRow.id).where(QueueRow.guid == queue))
    assert queue_id is not None
    heard: list[int] = []
    arrived = threading.Event()

    def on_arrival(announced: int) -> None:
        if announced == queue_id:
            heard.append(announced)
            arrived.set()

    unsubscribe = arrivals.subscribe(on_arrival)
    watched = arrivals.watched
    arrivals.watched = watched | {queue_id}
    try:
        paths.since()
        post(robot, "/api/task/create", {"Queue": queue, "Name": "w"})
        # Lean on both stores: PostgreSQL's NOTIFY is part of the adding statement, SQLite
        # calls the subscribers after its COMMIT.
        assert paths.answered() == "lean"
        assert arrived.wait(10)
        arrived.clear()
        post(robot, "/api/task/bulkCreate", {"Queue": queue, "Tasks": [{"Name": "w2"}]})
        assert paths.answered() == "lean"
        assert arrived.wait(10)
    finally:
        arrivals.watched = watched
        unsubscribe()


def test_a_large_bulk_add_is_one_lean_add(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    """10,000 tasks (the most one call takes): on PostgreSQL still one statement, whose
    parameters are one array per column, however many tasks."""
    service = store_service
    robot, queue = robot_and_cached_queue(store_tenant)
    tasks = [
        {"Name": f"t{n}", "Parameters": {"n": n}, "Priority": 1 + n % 3} for n in range(10_000)
    ]
    paths.since()
    added = post(robot, "/api/task/bulkCreate", {"Queue": queue, "Tasks": tasks})
    assert paths.answered() == "lean"
    assert added["created"] == 10_000 and len(set(added["guids"])) == 10_000
    with service.runtime.db.read() as session:
        stored = session.execute(
            select(TaskRow.id, TaskRow.guid, TaskRow.name, TaskRow.parameters, TaskRow.priority)
            .where(TaskRow.guid.in_(added["guids"]))
            .order_by(TaskRow.id)
        ).all()
        events = session.scalar(
            select(func.count())
            .select_from(TaskEventRow)
            .where(TaskEventRow.task_id.in_([row.id for row in stored]))
        )
    assert [row.guid for row in stored] == added["guids"]
    assert [(row.name, row.parameters, row.priority) for row in stored] == [
        (t["Name"], t["Parameters"], t["Priority"]) for t in tasks
    ]
    assert events == 10_000
