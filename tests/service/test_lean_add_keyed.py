"""A task add named by an Idempotency-Key (as the SDK names every add) is lean when it is the
key's FIRST add (services.tasks.lean_add): it stores the key and the request digest as the
session path stores them, so that path, the reference, answers every later add of the key
exactly as before: a retry with the task it added (nothing added), a key reused for other
content with 409 (per item in a bulk add). On PostgreSQL the guarded statement runs and adds
nothing when a key is taken; a concurrent add of the same key fails it on the unique key
index, and the session path answers."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from robofleet.server.db.tables import TaskRow
from robofleet.server.schemas.queues import TaskCreate
from robofleet.server.services.tasks.idempotency import request_digest
from tests.service.conftest import Service, Tenant, make_tenant
from tests.service.lean_paths import (
    Paths,
    forget_queues,
    new_queue,
    post,
    racing_adds,
    robot_and_cached_queue,
    robot_client,
    statements_per_fallback,
    task_count,
)
from tests.service.test_lean_add import FIELDS, LATER, _alike, _stored


def _keyed(client: TestClient, path: str, body: Any, key: str, status: int = 200) -> Any:
    return post(client, path, body, status, headers={"Idempotency-Key": key})


def _without_key(stored: list[tuple[dict[str, Any], list[Any]]]) -> list[Any]:
    return [({**columns, "idempotency_key": None}, history) for columns, history in stored]


def _keys(stored: list[tuple[dict[str, Any], list[Any]]]) -> list[Any]:
    return [columns["idempotency_key"] for columns, _ in stored]


def test_a_first_keyed_add_is_lean_and_stored_as_the_session_path(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot = robot_client(store_tenant)
    queue = new_queue(store_tenant)
    for body in ({"Queue": queue, "Name": "k", **FIELDS}, {"Queue": queue, "Name": 7}):
        forget_queues(service)
        paths.since()
        first = _keyed(robot, "/api/task/create", body, f"s-{body['Name']}")
        assert paths.answered() == "session"  # the queue was not cached
        second = _keyed(robot, "/api/task/create", body, f"l-{body['Name']}")
        assert paths.answered() == "lean"
        assert _alike(second) == _alike(first)
        stored = _stored(service, [first["guid"], second["guid"]])
        assert _keys(stored) == [f"s-{body['Name']}", f"l-{body['Name']}"]
        assert stored[1][0]["request_digest"] is not None
        session_row, lean_row = _without_key(stored)
        assert lean_row == session_row  # the digest and every column and history alike
    bulk = {
        "Queue": queue,
        "Mode": "each",
        "Tasks": [
            {"Name": "b0", **FIELDS},
            {"Name": "bad", "Priority": 9},
            {"Name": "b2", "PostponedUntil": LATER},
        ],
    }
    forget_queues(service)
    paths.since()
    first = _keyed(robot, "/api/task/bulkCreate", bulk, "s-bulk")
    assert paths.answered() == "session"
    second = _keyed(robot, "/api/task/bulkCreate", bulk, "l-bulk")
    assert paths.answered() == "lean"
    assert {k: v for k, v in second.items() if k != "guids"} == {
        k: v for k, v in first.items() if k != "guids"
    }
    session_rows, lean_rows = _stored(service, first["guids"]), _stored(service, second["guids"])
    assert _keys(session_rows) == ["s-bulk#0", "s-bulk#2"]
    assert _keys(lean_rows) == ["l-bulk#0", "l-bulk#2"]
    assert _without_key(lean_rows) == _without_key(session_rows)


def test_the_session_path_answers_a_lean_keyed_adds_retry_and_reuse(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot, queue = robot_and_cached_queue(store_tenant)
    tries = statements_per_fallback(service)
    body = {"Queue": queue, "Name": "r", **FIELDS}
    paths.since()
    first = _keyed(robot, "/api/task/create", body, "retry-1")
    assert paths.answered() == "lean"
    count = task_count(service, queue)
    again = _keyed(robot, "/api/task/create", body, "retry-1")
    ran = paths.since()
    assert ran[0] == tries and ran[1] > 0  # the session path answered
    assert again == first  # the same task, answered alike
    reused = _keyed(robot, "/api/task/create", {**body, "Name": "s"}, "retry-1", status=409)
    assert reused["code"] == "idempotency_key_reused"
    assert paths.since()[0] == tries
    # A bulk add: its retry answers the same tasks as existing; a reuse refuses the items
    # whose content differs and adds the others (mode "each").
    bulk = {"Queue": queue, "Mode": "each", "Tasks": [{"Name": "b0"}, {"Name": "b1"}]}
    added = _keyed(robot, "/api/task/bulkCreate", bulk, "retry-bulk")
    assert paths.answered() == "lean"
    assert task_count(service, queue) == count + 2
    retried = _keyed(robot, "/api/task/bulkCreate", bulk, "retry-bulk")
    assert paths.since()[0] == tries
    assert retried["guids"] == added["guids"] and retried["existing"] == 2
    other = {**bulk, "Tasks": [{"Name": "b0"}, {"Name": "changed"}, {"Name": "b2"}]}
    mixed = _keyed(robot, "/api/task/bulkCreate", other, "retry-bulk")
    assert [(f["index"], f["code"]) for f in mixed["failed"]] == [(1, "idempotency_key_reused")]
    assert mixed["created"] == 2 and mixed["existing"] == 1
    assert task_count(service, queue) == count + 2 + 1
    # The same key in another account is another add: lean, a task of its own.
    other_tenant = make_tenant(service)
    other_queue = new_queue(other_tenant)
    other_robot = robot_client(other_tenant)
    post(other_robot, "/api/task/create", {"Queue": other_queue, "Name": "warm"})
    paths.since()
    theirs = _keyed(other_robot, "/api/task/create", body | {"Queue": other_queue}, "retry-1")
    assert paths.answered() == "lean" and theirs["guid"] != first["guid"]


def test_concurrent_adds_of_one_key_add_one_task(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot, queue = robot_and_cached_queue(store_tenant)
    count = task_count(service, queue)
    auth = {"Authorization": robot.headers["Authorization"]}
    for round_ in range(3):
        answers = racing_adds(
            [service.client(**auth) for _ in range(6)],
            {"Queue": queue, "Name": "race"},
            {"Idempotency-Key": f"race-{round_}"},
        )
        assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
        assert len({a.json()["guid"] for a in answers}) == 1
    assert task_count(service, queue) == count + 3


def test_a_concurrent_add_of_the_key_fails_the_statement_and_the_session_path_answers(
    pg_service: Service,
) -> None:
    """Deterministic on PostgreSQL: another transaction holds an uncommitted task of the key;
    the lean statement passes the guard (it cannot see that task), waits on the unique key
    index, and fails once the other commits; nothing is added and the session path answers
    with the other's task (the same content: a retry)."""
    service = pg_service
    tenant = make_tenant(service)
    robot, queue = robot_and_cached_queue(tenant)
    body = {"Queue": queue, "Name": "held", "Priority": 2}
    with service.runtime.db.read() as session:
        warm = session.scalars(select(TaskRow).where(TaskRow.name == "warm")).one()
        account_id, queue_id = warm.account_id, warm.queue_id
    digest = request_digest(queue_id, "held", TaskCreate.model_validate(body), None)
    held_guid = "00000000-0000-4000-8000-000000000001"
    answer: list[Any] = []
    pool = service.runtime.driver_pool
    assert pool is not None
    before = pool.statements
    failures: list[BaseException] = []
    run = pool.run

    async def watched_run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await run(*args, **kwargs)
        except BaseException as exc:
            failures.append(exc)
            raise

    pool.run = watched_run  # type: ignore[method-assign]
    with service.runtime.db.engine.connect() as holder:
        holder.execute(
            text(
                "INSERT INTO tasks (guid, account_id, queue_id, name, description, comment, "
                "parameters, priority, rank, tags, status, deadline_key, retries, is_deleted, "
                "status_changed_at, created_at, updated_at, error_type, error_message, "
                "error_details, idempotency_key, request_digest) "
                "SELECT :guid, :account, :queue, 'held', '', '', '{}', 2, rank, '', 0, "
                "deadline_key, 0, false, now(), now(), now(), '', '', '', 'held-1', :digest "
                "FROM tasks WHERE name = 'warm' AND account_id = :account"
            ),
            {"guid": held_guid, "account": account_id, "queue": queue_id, "digest": digest},
        )
        adder = threading.Thread(
            target=lambda: answer.append(_keyed(robot, "/api/task/create", body, "held-1"))
        )
        adder.start()
        time.sleep(1.0)  # the lean statement now waits on the key index
        assert not answer
        holder.commit()
    adder.join(30)
    del pool.run
    assert answer and answer[0]["guid"] == held_guid
    assert pool.statements == before  # the statement failed: nothing it ran was counted
    assert [getattr(exc, "sqlstate", type(exc).__name__) for exc in failures] == ["23505"]
    with service.runtime.db.read() as session:
        keyed = session.scalar(
            select(func.count()).select_from(TaskRow).where(TaskRow.idempotency_key == "held-1")
        )
    assert keyed == 1
