"""A failure finishes in one statement like any other outcome (services.tasks.on_driver on
PostgreSQL, lean_sqlite on SQLite) unless the task's queue retries it: then that statement
changes nothing and the session path finishes the task and makes its retry task. Which path
answered is seen on the database: the session path begins an ORM write session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import Service, Tenant
from tests.service.test_lean_sqlite import WriteSessions
from tests.support.queues import add, finish, make_queue, take

ERROR = {"Type": "Application", "Message": "the portal timed out", "Details": "trace"}


@pytest.fixture
def store_writes(store_service: Service) -> Iterator[WriteSessions]:
    counter = WriteSessions(store_service)
    yield counter
    counter.close()


def tasks_of(tenant: Tenant, queue: str) -> list[dict[str, object]]:
    response = tenant.api.post(f"/api/task/filter/list/{queue}", json={})
    assert response.status_code == 200, response.text
    return list(response.json())


def test_a_failure_is_one_statement_unless_its_queue_retries_it(
    store_tenant: Tenant, store_writes: WriteSessions
) -> None:
    api = store_tenant.api
    queue = make_queue(api, RetryApplication=True, MaxRetries=1)
    add(api, queue, "invoice-7")
    (task,) = take(api, queue)  # the first take caches the queue's rules

    before = store_writes.count
    failed = finish(api, task, 3, Error=ERROR)
    assert failed.status_code == 200, failed.text
    assert store_writes.count == before + 1  # retried: the session path
    (retry,) = take(api, queue)
    assert (retry["parent_task"], retry["retries"]) == (task["guid"], 1)

    before = store_writes.count
    last = finish(api, retry, 3, Error=ERROR)  # no retry left: one statement
    assert last.status_code == 200, last.text
    assert store_writes.count == before
    body = last.json()
    assert (body["status"], body["error"]["message"]) == (3, ERROR["Message"])
    assert body["parent_task"] == task["guid"]
    assert {t["status"] for t in tasks_of(store_tenant, queue)} == {3}
    assert len(tasks_of(store_tenant, queue)) == 2  # the failure made no third task
    history = api.get(f"/api/task/history/{retry['guid']}").json()
    assert [(e["from_status"], e["to_status"]) for e in history][-1] == (1, 3)
    assert history[-1]["reason"] == ERROR["Message"]
    # The same finish again: the session path answers the retry as the first was answered.
    again = finish(api, retry, 3, Error=ERROR)
    assert (again.status_code, again.json()) == (200, body)


def test_a_business_failure_of_a_queue_retrying_application_failures_is_one_statement(
    store_tenant: Tenant, store_writes: WriteSessions
) -> None:
    api = store_tenant.api
    queue = make_queue(api, RetryApplication=True, MaxRetries=3)
    for name in ("a", "b", "c"):
        add(api, queue, name)
    take(api, queue)  # caches the queue's rules
    first, second = take(api, queue, 2)
    before = store_writes.count
    batch = [{"Guid": t["guid"], "LeaseId": t["lease_id"], "Status": 4} for t in (first, second)]
    results = api.post("/api/task/finish", json={"Items": batch}).json()["results"]
    assert [(r["guid"], r["ok"]) for r in results] == [
        (first["guid"], True),
        (second["guid"], True),
    ]
    assert store_writes.count == before
    assert sorted(t["status"] for t in tasks_of(store_tenant, queue)) == [1, 4, 4]
