"""On SQLite, take, finish and renew answer on the group writer's bare connection
(services.tasks.lean_sqlite) with what the session path answers, and fall back to it for
everything else. Which path answered is seen on the database itself: the session path begins
an ORM write session, the lean path none."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session, SessionTransaction
from starlette.testclient import TestClient

from robofleet.server.db.dialect import WRITE_OPTION
from robofleet.server.domain.jobs import JobStatus
from tests.service.conftest import Service, Tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth

VARYING = ("id", "guid", "name", "lease_id", "lease_expires_at", "created", "started", "updated")
"""Fields that differ from one task or one moment to the next."""


class WriteSessions:
    """How many ORM write sessions the database began (its own session events)."""

    def __init__(self, service: Service) -> None:
        self.count = 0
        self._detach = service.runtime.db.listen("after_begin", self._begun)

    def _begun(self, _session: Session, _txn: SessionTransaction, connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            self.count += 1

    def close(self) -> None:
        self._detach()


@pytest.fixture
def writes(service: Service) -> Iterator[WriteSessions]:
    counter = WriteSessions(service)
    yield counter
    counter.close()


def _queue_with_tasks(api: TestClient, count: int) -> str:
    queue = f"lean-{uuid.uuid4().hex[:8]}"
    assert api.post("/api/queue/create", json={"Name": queue, "LeaseSeconds": 120}).is_success
    tasks = [
        {"Name": f"t{n}", "Parameters": {"n": 1, "deep": [1, None]}, "Tags": "a;b"}
        for n in range(count)
    ]
    added = api.post("/api/task/bulkCreate", json={"Queue": queue, "Tasks": tasks})
    assert added.status_code == 200, added.text
    return queue


def _take(api: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.post("/api/task/take", json=body)
    assert response.status_code == 200, response.text
    return list(response.json()["tasks"])


def _alike(task: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in task.items() if key not in VARYING}


def test_take_and_finish_answer_as_the_session_path(tenant: Tenant, writes: WriteSessions) -> None:
    api = tenant.api
    queue = _queue_with_tasks(api, 4)
    tenant.service.runtime.queues.invalidate()  # the add cached the queue: forget it
    before = writes.count
    (first,) = _take(api, {"Queue": queue})  # the queue is not cached: session path
    assert writes.count == before + 1
    lean = _take(api, {"queue": queue, "count": 2})  # snake_case, cached queue: lean path
    assert writes.count == before + 1
    assert [_alike(task) for task in lean] == [_alike(first)] * 2
    assert [task["name"] for task in lean] == ["t1", "t2"]  # take order
    assert all(task["lease_id"] and task["lease_expires_at"] for task in lean)

    finish = {"Guid": lean[0]["guid"], "LeaseId": lean[0]["lease_id"], "Status": 2}
    done = api.post("/api/task/finish", json=finish)
    assert done.status_code == 200, done.text
    assert writes.count == before + 1
    # The same finish again changes nothing: the session path answers it as the first was.
    again = api.post("/api/task/finish", json=finish)
    assert writes.count == before + 2
    assert (again.status_code, again.content) == (done.status_code, done.content)

    history = api.get(f"/api/task/history/{lean[0]['guid']}").json()
    assert [(e["from_status"], e["to_status"], e["reason"]) for e in history] == [
        (None, 0, "added"),
        (0, 1, "taken"),
        (1, 2, "finished"),
    ]
    session_history = api.get(f"/api/task/history/{first['guid']}").json()
    assert [e["actor"] for e in history[:2]] == [e["actor"] for e in session_history]
    assert history[2]["actor"] == history[1]["actor"]
    # One statement writes the entries of a batch taken: each task's, dated with its take.
    assert history[1]["at"] == lean[0]["started"]
    second = api.get(f"/api/task/history/{lean[1]['guid']}").json()
    assert [(e["to_status"], e["reason"], e["at"]) for e in second][1] == (
        1,
        "taken",
        lean[1]["started"],
    )

    # A form-encoded finish with an output and an error is lean too, and so is a failure its
    # queue does not retry (tests/service/test_lean_failures.py: one it retries is not).
    form = {
        "Guid": lean[1]["guid"],
        "LeaseId": lean[1]["lease_id"].upper(),
        "Status": "2",
        "Output": json.dumps({"ok": True}),
    }
    out = api.post("/api/task/finish", data=form)
    assert out.status_code == 200, out.text
    assert out.json()["output"] == {"ok": True}
    assert writes.count == before + 2
    failed = api.post(
        "/api/task/finish", json={"Guid": first["guid"], "LeaseId": first["lease_id"], "Status": 4}
    )
    assert failed.status_code == 200, failed.text
    assert writes.count == before + 2


def test_a_lost_lease_and_a_take_filtering_by_many_tags_go_to_the_session_path(
    tenant: Tenant, writes: WriteSessions
) -> None:
    api = tenant.api
    queue = _queue_with_tasks(api, 3)
    _take(api, {"Queue": queue})
    before = writes.count
    (task,) = _take(api, {"Queue": queue})
    lost = api.post(
        "/api/task/finish", json={"Guid": task["guid"], "LeaseId": str(uuid.uuid4()), "Status": 2}
    )
    assert lost.status_code == 409 and lost.json()["code"] == "lease_lost", lost.text
    assert writes.count == before + 1
    # More tags than a lean take's filter names (take_filters.MAX_TAGS).
    (filtered,) = _take(api, {"Queue": queue, "Tags": "+a;+b;-c;-d;-e"})
    assert writes.count == before + 2
    assert filtered["name"] == "t2"
    unknown_job = api.post("/api/task/take", json={"Queue": queue, "Job": str(uuid.uuid4())})
    assert unknown_job.status_code == 404, unknown_job.text
    assert writes.count == before + 3


def test_a_robot_takes_for_its_job_on_the_lean_path(tenant: Tenant, writes: WriteSessions) -> None:
    api = tenant.api
    queue = _queue_with_tasks(api, 4)
    robot = make_robot(api)
    job = str(create_job(api, make_process(api), Robot=robot)["guid"])
    with tenant.client(**robot_auth(robot)) as client:
        body = client.post("/api/robot/consumeNextJob", data={"RobotGUID": robot}).json()
        assert json.loads(body["Job"])["GUID"] == job
        running = {"Guid": job, "Status": int(JobStatus.IN_PROGRESS)}
        assert client.put("/api/job/update", json=running).is_success
        _take(client, {"Queue": queue})  # caches the queue for the robot
        before = writes.count
        (named,) = _take(client, {"Queue": queue, "Job": job})
        (running_job,) = _take(client, {"Queue": queue})
        assert writes.count == before
        assert named["job_guid"] == job and running_job["job_guid"] == job
        other = str(create_job(api, make_process(api))["guid"])  # not the robot's own
        before = writes.count
        refused = client.post("/api/task/take", json={"Queue": queue, "Job": other})
        assert refused.status_code == 404, refused.text
        assert writes.count == before + 1


def test_renew_answers_as_the_session_path(tenant: Tenant, writes: WriteSessions) -> None:
    api = tenant.api
    queue = _queue_with_tasks(api, 3)
    one, two = _take(api, {"Queue": queue, "Count": 2})
    before = writes.count
    # One lease lost: the whole request goes to the session path, which answers each item.
    mixed = api.post(
        "/api/task/renew",
        json={
            "Items": [
                {"Guid": one["guid"], "LeaseId": one["lease_id"], "LeaseSeconds": 60},
                {"Guid": two["guid"], "LeaseId": str(uuid.uuid4())},
            ]
        },
    )
    assert mixed.status_code == 200, mixed.text
    assert writes.count == before + 1
    session_result = mixed.json()["results"][0]
    assert [r["ok"] for r in mixed.json()["results"]] == [True, False]
    lean = api.post(
        "/api/task/renew",
        json={"Guid": two["guid"], "LeaseId": two["lease_id"], "LeaseSeconds": 600},
    )
    assert lean.status_code == 200, lean.text
    assert writes.count == before + 1
    (lean_result,) = lean.json()["results"]
    assert lean_result["guid"] == two["guid"] and lean_result["ok"] is True
    assert _alike(lean_result["task"]) == _alike(session_result["task"])
    assert set(lean_result) == set(session_result)
    assert lean_result["task"]["lease_expires_at"] > two["lease_expires_at"]
    stale = api.post("/api/task/renew", json={"Guid": two["guid"], "LeaseId": str(uuid.uuid4())})
    assert stale.status_code == 409 and stale.json()["code"] == "lease_lost", stale.text
    assert writes.count == before + 2


def test_a_plain_batch_finish_answers_as_the_session_path(
    tenant: Tenant, writes: WriteSessions
) -> None:
    api = tenant.api
    queue = _queue_with_tasks(api, 4)
    _take(api, {"Queue": queue})
    one, two, three = _take(api, {"Queue": queue, "Count": 3})
    before = writes.count
    items = [
        {"Guid": one["guid"], "LeaseId": one["lease_id"], "Status": 2},
        {"guid": two["guid"].upper(), "lease_id": two["lease_id"], "status": 2},
    ]
    done = api.post("/api/task/finish", json={"Items": items})
    assert done.status_code == 200, done.text
    assert writes.count == before
    assert [(r["guid"], r["ok"]) for r in done.json()["results"]] == [
        (one["guid"], True),
        (two["guid"], True),
    ]
    again = api.post("/api/task/finish", json={"Items": items})  # nothing changes: session
    assert writes.count == before + 1
    assert (again.status_code, again.content) == (done.status_code, done.content)
    failing = [{"Guid": three["guid"], "LeaseId": three["lease_id"], "Status": 4}]
    failed = api.post("/api/task/finish", json={"Items": failing})  # not retried: lean
    assert failed.status_code == 200 and failed.json()["results"][0]["ok"] is True
    assert writes.count == before + 1
    history = api.get(f"/api/task/history/{two['guid']}").json()
    assert [(e["to_status"], e["reason"]) for e in history] == [
        (0, "added"),
        (1, "taken"),
        (2, "finished"),
    ]


def test_a_batch_finish_with_outputs_errors_and_postponements_is_lean_too(
    tenant: Tenant, writes: WriteSessions
) -> None:
    """Items the plain groups do not cover finish one statement each, in the same write; one
    item that does not finish sends the whole batch to the session path, which judges each
    item on its own (the lean path's work undone)."""
    api = tenant.api
    queue = _queue_with_tasks(api, 6)
    one, two, three, four, five, six = _take(api, {"Queue": queue, "Count": 6})
    before = writes.count
    later = "2031-01-02 03:04:05"
    items = [
        {"Guid": one["guid"], "LeaseId": one["lease_id"], "Status": 2, "Output": {"n": 1}},
        {"Guid": two["guid"], "LeaseId": two["lease_id"], "Status": 2},
        {
            "Guid": three["guid"],
            "LeaseId": three["lease_id"],
            "Status": 4,
            "Error": {"Type": "Business", "Message": "no invoice"},
        },
        {"Guid": four["guid"], "LeaseId": four["lease_id"], "Status": 5, "PostponedUntil": later},
    ]
    done = api.post("/api/task/finish", json={"Items": items})
    assert done.status_code == 200, done.text
    assert writes.count == before  # no ORM session: the lean path answered
    assert [(r["guid"], r["ok"]) for r in done.json()["results"]] == [
        (task["guid"], True) for task in (one, two, three, four)
    ]
    read = {t["guid"]: api.get(f"/api/task/read/{t['guid']}").json() for t in (one, three, four)}
    assert (read[one["guid"]]["status"], read[one["guid"]]["output"]) == (2, {"n": 1})
    assert read[three["guid"]]["status"] == 4
    assert read[three["guid"]]["error"]["message"] == "no invoice"
    assert (read[four["guid"]]["status"], read[four["guid"]]["postponed"]) == (5, later)
    history = api.get(f"/api/task/history/{three['guid']}").json()
    assert [(e["to_status"], e["reason"]) for e in history][-1] == (4, "no invoice")

    # One lost lease among good items: the session path finishes the good ones and refuses it.
    mixed = [
        {"Guid": five["guid"], "LeaseId": five["lease_id"], "Status": 2, "Output": {"n": 5}},
        {"Guid": six["guid"], "LeaseId": str(uuid.uuid4()), "Status": 2, "Output": {"n": 6}},
    ]
    judged = api.post("/api/task/finish", json={"Items": mixed})
    assert judged.status_code == 200, judged.text
    assert writes.count == before + 1
    assert [r["ok"] for r in judged.json()["results"]] == [True, False]
    assert api.get(f"/api/task/read/{five['guid']}").json()["output"] == {"n": 5}
    assert api.get(f"/api/task/read/{six['guid']}").json()["status"] == 1
    five_history = api.get(f"/api/task/history/{five['guid']}").json()
    assert [e["to_status"] for e in five_history] == [0, 1, 2]  # finished once, not twice


def test_a_lean_take_names_the_parent_of_a_retry(tenant: Tenant, writes: WriteSessions) -> None:
    api = tenant.api
    queue = f"lean-retry-{uuid.uuid4().hex[:8]}"
    settings = {"Name": queue, "RetryApplication": 1, "MaxRetries": 2}
    assert api.post("/api/queue/create", json=settings).is_success
    assert api.post("/api/task/create", json={"Queue": queue, "Name": "once"}).is_success
    (task,) = _take(api, {"Queue": queue})  # session path, caches the queue
    failed = {"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 3}
    assert api.post("/api/task/finish", json=failed).status_code == 200  # session: retries
    before = writes.count
    (retry,) = _take(api, {"Queue": queue})
    assert writes.count == before
    assert retry["parent_task"] == task["guid"] and retry["retries"] == 1
    finished = api.post(
        "/api/task/finish", json={"Guid": retry["guid"], "LeaseId": retry["lease_id"], "Status": 2}
    )
    assert finished.status_code == 200 and finished.json()["parent_task"] == task["guid"]
    assert writes.count == before


def test_a_lean_finish_names_its_queue_from_the_cache(tenant: Tenant) -> None:
    """The finish's answer names the task's queue by GUID; the queue the take cached (by
    name) is found again by the task's queue id, without a statement inside the writer's turn."""
    api = tenant.api
    queue = _queue_with_tasks(api, 2)
    (task,) = _take(api, {"Queue": queue})
    writer = tenant.service.runtime.db.group_writer
    assert writer is not None
    ran: list[str] = []
    with tenant.service.runtime.db.raw_write() as write:
        # The writer keeps its connection between groups: the trace sees the next ones.
        write.connection.set_trace_callback(ran.append)
    try:
        finish = {"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2}
        done = api.post("/api/task/finish", json=finish)
    finally:
        with tenant.service.runtime.db.raw_write() as write:
            write.connection.set_trace_callback(None)
    assert done.status_code == 200, done.text
    assert done.json()["queue_guid"] == api.get(f"/api/queue/read/{queue}").json()["guid"]
    assert any("UPDATE tasks" in sql for sql in ran)
    assert not any("FROM queues" in sql for sql in ran), ran
