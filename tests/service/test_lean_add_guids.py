"""A task add that gives tasks GUIDs of the client's own is lean when none of them is taken yet
(services.tasks.lean_add): it stores the GUID and the request digest as the session path
stores them, so that path, the reference, answers every later add of the GUID as before: a
retry with the task it added (nothing added), a GUID reused for other content, or one another
account holds, with 409 (per item in a bulk add). A GUID given twice in one add is the session
path's too. On PostgreSQL the guarded statement runs and adds nothing when a GUID is taken."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from robofleet.server.db.tables import QueueRow
from robofleet.server.schemas.queues import TaskCreate, TaskItem
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


def _queue_id(service: Service, queue: str) -> int:
    with service.runtime.db.read() as session:
        found = session.scalar(select(QueueRow.id).where(QueueRow.guid == queue))
        assert found is not None
        return int(found)


def _without_digest(stored: list[tuple[dict[str, Any], list[Any]]]) -> list[Any]:
    """The rows with the digest left out: it covers the GUID, which differs between twins."""
    return [({**columns, "request_digest": None}, history) for columns, history in stored]


def test_a_first_add_of_client_guids_is_lean_and_stored_as_the_session_path(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot = robot_client(store_tenant)
    queue = new_queue(store_tenant)
    queue_id = _queue_id(service, queue)
    body = {"Queue": queue, "Name": "g", **FIELDS}
    forget_queues(service)
    paths.since()
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    first = post(robot, "/api/task/create", {**body, "Guid": theirs})
    assert paths.answered() == "session"  # the queue was not cached
    second = post(robot, "/api/task/create", {**body, "Guid": mine})
    assert paths.answered() == "lean"
    assert (first["guid"], second["guid"]) == (theirs, mine)
    assert _alike(second) == _alike(first)
    stored = _stored(service, [theirs, mine])
    fields = TaskCreate.model_validate(body)
    assert [columns["request_digest"] for columns, _ in stored] == [
        request_digest(queue_id, "g", fields, theirs),
        request_digest(queue_id, "g", fields, mine),
    ]
    session_row, lean_row = _without_digest(stored)
    assert lean_row == session_row
    # A bulk add mixing the client's GUIDs and the server's, keyed: alike too.
    items = [{"Name": "b0", "Guid": "?"}, {"Name": "b1", **FIELDS}, {"Name": "b2", "Guid": "?"}]
    items[-1]["PostponedUntil"] = LATER
    answers = []
    for attempt, key in enumerate(("s-bulk", "l-bulk")):
        if attempt == 0:
            forget_queues(service)
        tasks = [{**item, "Guid": str(uuid.uuid4())} if "Guid" in item else item for item in items]
        paths.since()
        answers.append(
            post(
                robot,
                "/api/task/bulkCreate",
                {"Queue": queue, "Tasks": tasks},
                headers={"Idempotency-Key": key},
            )
        )
        assert paths.answered() == ("session" if attempt == 0 else "lean")
        given = [task.get("Guid") for task in tasks]
        assert [g for g in given if g] == [g for g in answers[-1]["guids"] if g in given]
        stored = _stored(service, answers[-1]["guids"])
        digests = [columns["request_digest"] for columns, _ in stored]
        assert digests == [
            request_digest(queue_id, task["Name"], TaskItem.model_validate(task), task.get("Guid"))
            for task in tasks
        ]
    session_rows, lean_rows = (_stored(service, answer["guids"]) for answer in answers)
    unkeyed = [
        ({**columns, "idempotency_key": None}, history)
        for columns, history in (*_without_digest(session_rows), *_without_digest(lean_rows))
    ]
    assert unkeyed[:3] == unkeyed[3:]


def test_the_session_path_answers_a_guids_retry_reuse_repeat_and_another_accounts(
    store_service: Service, store_tenant: Tenant, paths: Paths
) -> None:
    service = store_service
    robot, queue = robot_and_cached_queue(store_tenant)
    tries = statements_per_fallback(service)
    own = str(uuid.uuid4())
    body = {"Queue": queue, "Name": "r", "Guid": own, **FIELDS}
    paths.since()
    first = post(robot, "/api/task/create", body)
    assert paths.answered() == "lean" and first["guid"] == own
    count = task_count(service, queue)
    again = post(robot, "/api/task/create", body)
    ran = paths.since()
    assert ran[0] == tries and ran[1] > 0  # the session path answered
    assert again == first and task_count(service, queue) == count
    reused = post(robot, "/api/task/create", {**body, "Name": "s"}, status=409)
    assert reused["code"] == "idempotency_key_reused" and own in reused["message"]
    assert paths.since()[0] == tries
    # A bulk add: the taken GUID answers as existing, the new one is added, on the session
    # path; a GUID given twice is refused for its second item without a lean try.
    new = str(uuid.uuid4())
    item = {k: v for k, v in body.items() if k != "Queue"}
    mixed = post(
        robot,
        "/api/task/bulkCreate",
        {"Queue": queue, "Mode": "each", "Tasks": [item, {"Name": "n", "Guid": new}]},
    )
    assert mixed["guids"] == [own, new] and (mixed["created"], mixed["existing"]) == (2, 1)
    assert paths.since()[0] == tries
    twice = str(uuid.uuid4())
    repeated = post(
        robot,
        "/api/task/bulkCreate",
        {
            "Queue": queue,
            "Mode": "each",
            "Tasks": [{"Name": "t0", "Guid": twice}, {"Name": "t1", "Guid": twice}],
        },
    )
    assert [(f["index"], f["code"]) for f in repeated["failed"]] == [(1, "duplicate_guid")]
    assert paths.answered() == "session"
    assert task_count(service, queue) == count + 2
    # Another account's add of the GUID: refused, saying no more than that it is taken.
    other = make_tenant(service)
    other_queue = new_queue(other)
    other_robot = robot_client(other)
    post(other_robot, "/api/task/create", {"Queue": other_queue, "Name": "warm"})
    paths.since()
    taken = post(other_robot, "/api/task/create", {**body, "Queue": other_queue}, status=409)
    assert taken["code"] == "guid_taken"
    assert paths.since()[0] == tries
    assert task_count(service, other_queue) == 1


def test_concurrent_adds_of_one_guid_add_one_task(
    store_service: Service, store_tenant: Tenant
) -> None:
    service = store_service
    robot, queue = robot_and_cached_queue(store_tenant)
    count = task_count(service, queue)
    auth = {"Authorization": robot.headers["Authorization"]}
    for _ in range(3):
        body = {"Queue": queue, "Name": "race", "Guid": str(uuid.uuid4())}
        clients = [service.client(**auth) for _ in range(6)]
        answers = racing_adds(clients, body)
        assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
        assert {a.json()["guid"] for a in answers} == {body["Guid"]}
    assert task_count(service, queue) == count + 3
