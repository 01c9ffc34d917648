"""Queues and tasks: Sherpa's operations, filters, tags, unique names, bulk add, history."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import httpx

from tests.acceptance.conftest import Tenant
from tests.support.queues import add, finish, make_queue, read, take


def test_queue_crud_and_counts(tenant: Tenant) -> None:
    guid = tenant.api.post(
        "/api/queue/create",
        json={
            "Name": "Invoices",
            "UniqueTasks": 1,
            "AutoChangeStatus": "1",
            "MaxRetries": 2,
            "RetryApplication": True,
            "AbandonNewMinutes": 60,
        },
    ).json()["guid"]
    queue = tenant.api.get(f"/api/queue/read/{guid}").json()
    assert (queue["unique_tasks"], queue["auto_change_status"], queue["max_retries"]) == (
        True,
        True,
        2,
    )
    assert (
        tenant.api.put("/api/queue/update", json={"Guid": "Invoices", "Description": "EU"}).json()
        == []
    )
    add(tenant.api, "Invoices", "a")
    add(tenant.api, "Invoices", "b")
    finish(tenant.api, take(tenant.api, "Invoices")[0])
    listed = tenant.api.get("/api/queue/list").json()
    assert listed[0]["description"] == "EU"
    assert listed[0]["counts"]["New"] == 1 and listed[0]["counts"]["Success"] == 1
    assert tenant.api.post("/api/queue/create", json={"Name": "Invoices"}).status_code == 409
    too_long = tenant.api.post("/api/queue/create", json={"Name": "x" * 129})
    assert too_long.status_code == 422


def test_sherpa_python_framework_forms(tenant: Tenant) -> None:
    queue = tenant.api.post("/api/queue/create", json={"Name": "Q"}).json()["guid"]
    created = tenant.api.post(
        "/api/task/create",
        data={"queue_guid": queue, "name": "NewTask", "parameters": json.dumps({"a": "1"})},
    )
    assert created.status_code == 200, created.text
    task = created.json()
    assert (task["status"], task["parameters"], task["queue_guid"]) == (0, {"a": "1"}, queue)
    assert {
        "created",
        "started",
        "updated",
        "postponed",
        "deadline",
        "parent_task",
        "retries",
        "job_id",
        "tags",
        "comment",
    } <= set(task)
    assert read(tenant.api, "NewTask")["guid"] == task["guid"]
    nxt = tenant.api.get(f"/api/queue/lastTask/{queue}").json()
    assert nxt["guid"] == task["guid"] and nxt["status"] == 0
    # Sherpa clients take with update Status 1: atomic, a second taker is refused.
    assert (
        tenant.api.put("/api/task/update", data={"guid": task["guid"], "status": "1"}).json() == []
    )
    again = tenant.api.put("/api/task/update", json={"Guid": task["guid"], "Status": 1})
    assert again.status_code == 409
    assert (
        tenant.api.put("/api/task/update", json={"Guid": task["guid"], "Status": 2}).status_code
        == 200
    )
    assert read(tenant.api, task["guid"])["status"] == 2
    assert tenant.api.get(f"/api/queue/lastTask/{queue}").status_code == 404
    assert tenant.api.delete(f"/api/task/delete/{task['guid']}").json() == {"result": "1"}
    assert tenant.api.get(f"/api/task/read/{task['guid']}").status_code == 404


def test_take_order_overdue_priority_deadline_age(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    add(tenant.api, queue, "low-old", Priority="Low")
    add(tenant.api, queue, "normal-old")
    add(tenant.api, queue, "high-later", Priority="High", Deadline=later)
    add(tenant.api, queue, "high-none", Priority="High")
    add(tenant.api, queue, "high-soon", Priority="High", Deadline=soon)
    add(tenant.api, queue, "normal-new")
    add(tenant.api, queue, "low-overdue", Priority="Low", Deadline=past)
    order = [t["name"] for t in take(tenant.api, queue, 10)]
    assert order == [
        "low-overdue",
        "high-soon",
        "high-later",
        "high-none",
        "normal-old",
        "normal-new",
        "low-old",
    ]


def test_each_task_is_taken_once_with_a_lease(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    for i in range(5):
        add(tenant.api, queue, f"t{i}")
    first = take(tenant.api, queue, 3, LeaseSeconds=60)
    second = take(tenant.api, queue, 3)
    assert len(first) == 3 and len(second) == 2
    assert not {t["guid"] for t in first} & {t["guid"] for t in second}
    for task in first:
        assert task["status"] == 1 and task["lease_id"]
        expires = datetime.strptime(task["lease_expires_at"], "%Y-%m-%d %H:%M:%S")
        remaining = (expires.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
        assert 40 < remaining <= 61
    assert take(tenant.api, queue) == []


def test_finish_needs_the_live_lease(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "t")
    task = take(tenant.api, queue)[0]
    stranger = finish(tenant.api, {**task, "lease_id": "not-the-lease"})
    assert stranger.status_code == 409
    assert stranger.json()["code"] == "lease_lost"
    assert read(tenant.api, task["guid"])["status"] == 1
    done = finish(tenant.api, task, 2, Output={"total": 7})
    assert done.status_code == 200 and done.json()["status"] == 2
    assert done.json()["output"] == {"total": 7}
    late = finish(tenant.api, task, 3)
    assert late.status_code == 409
    assert read(tenant.api, task["guid"])["status"] == 2


def test_failure_details_and_postpone(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "bad")
    add(tenant.api, queue, "later")
    bad, later = take(tenant.api, queue, 2)
    failed = finish(
        tenant.api,
        bad,
        4,
        Error={
            "type": "NoSuchCustomer",
            "message": "customer 42 is unknown",
            "details": "lookup returned 0 rows",
        },
    )
    assert failed.json()["status"] == 4
    assert failed.json()["error"] == {
        "type": "NoSuchCustomer",
        "message": "customer 42 is unknown",
        "details": "lookup returned 0 rows",
    }
    no_time = finish(tenant.api, later, 5)
    assert no_time.status_code == 422
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    postponed = finish(tenant.api, later, 5, PostponedUntil=when.isoformat()).json()
    assert postponed["status"] == 5
    assert postponed["postponed"] == when.strftime("%Y-%m-%d %H:%M:%S")
    assert take(tenant.api, queue) == []


def test_tags_and_the_filter_path_syntax(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "INV-1", Tags="eu;urgent", Priority=3)
    add(tenant.api, queue, "INV-2", Tags="eu")
    add(tenant.api, queue, "INV-3", Tags="us;urgent")
    add(tenant.api, queue, "PO-1", Tags="eu;manual")

    def names(path: str, **body: object) -> list[str]:
        response = tenant.api.post(f"/api/task/filter/list/{queue}/{path}", json=body or None)
        assert response.status_code == 200, response.text
        return sorted(t["name"] for t in response.json())

    assert names("tags=+eu;-manual") == ["INV-1", "INV-2"]
    assert names("tags=urgent") == ["INV-1", "INV-3"]
    assert names("name=INV-*") == ["INV-1", "INV-2", "INV-3"]
    assert names("name=%3F%3F%3F-1") == ["INV-1"]  # ? is a wildcard, escaped in a URL
    assert names("priority=High") == ["INV-1"]
    assert names("status=0/priority=2,3&tags=-us") == ["INV-1", "INV-2", "PO-1"]
    assert len(names("count=2")) == 2
    assert names("created_after=2999-01-01T00:00:00Z") == []
    assert names("status=1") == []
    bad = tenant.api.post(f"/api/task/filter/list/{queue}/colour=red")
    assert bad.status_code == 422 and "colour" in bad.json()["message"]

    first = tenant.api.post(f"/api/task/filter/read/{queue}/tags=+eu").json()
    assert first["name"] == "INV-1" and first["status"] == 0
    second = tenant.api.post(f"/api/task/filter/read/{queue}/tags=+eu/offset=1").json()
    assert second["name"] == "INV-2"
    taken = tenant.api.post(f"/api/task/filter/read/{queue}/tags=+eu/take=1").json()
    assert taken["name"] == "INV-1" and taken["status"] == 1 and taken["lease_id"]
    by_body = tenant.api.post(f"/api/task/filter/read/{queue}", json={"Tags": "+eu;-manual"})
    assert by_body.json()["name"] == "INV-2"

    tenant.api.put("/api/task/addTag", json={"TaskGuid": "PO-1", "TagNames": "review;eu;"})
    assert read(tenant.api, "PO-1")["tags"] == "eu;manual;review"
    tenant.api.request(
        "DELETE", "/api/task/removeTag", json={"TaskGuid": "PO-1", "TagNames": "manual"}
    )
    assert read(tenant.api, "PO-1")["tags"] == "eu;review"
    tenant.api.request(
        "DELETE", "/api/task/removeTag", data={"task_guid": "PO-1", "tag_names": "*"}
    )
    assert read(tenant.api, "PO-1")["tags"] == ""
    assert take(tenant.api, queue, 5, Tags="+us")[0]["name"] == "INV-3"


def test_unique_names_hold_under_concurrent_adds(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, UniqueTasks=True)
    results: list[int] = []
    lock = threading.Lock()

    def add_one() -> None:
        with httpx.Client(
            base_url=tenant.server.url, headers={"Key": tenant.key}, timeout=30
        ) as client:
            response = client.post("/api/task/create", json={"Queue": queue, "Name": "once"})
        with lock:
            results.append(response.status_code)

    threads = [threading.Thread(target=add_one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [409] * 11
    listed = tenant.api.post(f"/api/task/filter/list/{queue}/name=once").json()
    assert len(listed) == 1
    # Deleting does not free the name: references stay reserved, as in UiPath.
    tenant.api.delete(f"/api/task/delete/{listed[0]['guid']}")
    assert (
        tenant.api.post("/api/task/create", json={"Queue": queue, "Name": "once"}).status_code
        == 409
    )


def test_bulk_add(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, UniqueTasks=True)
    add(tenant.api, queue, "exists")
    batch = [{"Name": f"b{i}", "Parameters": {"i": i}} for i in range(5)]
    refused = tenant.api.post(
        "/api/task/bulkCreate",
        json={"Queue": queue, "Tasks": [*batch, {"Name": "exists"}, {"Priority": 9}]},
    )
    assert refused.status_code == 422
    assert "none was added" in refused.json()["message"]
    assert len(tenant.api.post(f"/api/task/filter/list/{queue}").json()) == 1

    each = tenant.api.post(
        "/api/task/bulkCreate",
        json={
            "Queue": queue,
            "Mode": "each",
            "Tasks": [*batch, {"Name": "exists"}, {"Name": "b0"}, {"Priority": 9}],
        },
    ).json()
    assert each["created"] == 5 and len(each["guids"]) == 5
    assert [(f["index"], f["code"]) for f in each["failed"]] == [
        (5, "duplicate_task_name"),
        (6, "duplicate_task_name"),
        (7, "invalid_input"),
    ]

    big = make_queue(tenant.api)
    many = [{"Name": f"n{i}", "Tags": "bulk"} for i in range(10_000)]
    response = tenant.api.post(
        "/api/task/bulkCreate", json={"Queue": big, "Tasks": many}, timeout=120
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["created"] == 10_000
    counts = {q["name"]: q["counts"] for q in tenant.api.get("/api/queue/list").json()}
    assert counts[big]["New"] == 10_000
    too_many = tenant.api.post(
        "/api/task/bulkCreate", json={"Queue": big, "Tasks": [*many, {"Name": "x"}]}, timeout=120
    )
    assert too_many.status_code == 422


def test_history_records_every_status_change(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    task = add(tenant.api, queue, "h")
    taken = take(tenant.api, queue)[0]
    finish(tenant.api, taken, 3, Error={"message": "timeout talking to SAP"})
    tenant.api.put("/api/task/update", json={"Guid": task["guid"], "Status": 0})
    history = tenant.api.get(f"/api/task/history/{task['guid']}").json()
    assert [(h["from_name"], h["to_name"]) for h in history] == [
        (None, "New"),
        ("New", "In Progress"),
        ("In Progress", "Failed (Application)"),
        ("Failed (Application)", "New"),
    ]
    assert history[2]["reason"] == "timeout talking to SAP"
    assert history[3]["reason"] == "set by hand"
    assert all(h["actor"] and h["at"] for h in history)


def test_bad_task_input_changes_nothing(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    for body in (
        {"Queue": queue},
        {"Queue": queue, "Name": "x", "Priority": 7},
        {"Queue": queue, "Name": "x", "Parameters": "{oops"},
        {"Queue": queue, "Name": "x", "Deadline": "soon"},
        {"Queue": "no-such-queue", "Name": "x"},
    ):
        response = tenant.api.post("/api/task/create", json=body)
        assert response.status_code in (404, 422), body
    assert tenant.api.post(f"/api/task/filter/list/{queue}").json() == []
