"""Retries change nothing (issue 8, defect 4): a finish repeated with the same lease and
outcome answers 200 again, and an add retried with the same Idempotency-Key or client task
GUID adds no second task. Through a real server, on both stores; the SDK's own retry of a
lost answer goes through a real HTTP proxy that drops the first answer."""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from robofleet.contract import API_KEY_VARIABLE, IDEMPOTENCY_KEY_HEADER, Api, JobEnv
from robofleet.sdk import queue as sdk_queue
from tests.acceptance.conftest import Tenant
from tests.support.queues import add, finish, make_queue, read, take


def history(tenant: Tenant, guid: str) -> list[dict[str, Any]]:
    response = tenant.api.get(f"/api/task/history/{guid}")
    assert response.status_code == 200, response.text
    return list(response.json())


def finishes(tenant: Tenant, guid: str) -> list[int]:
    """The statuses a task was finished to (its moves out of In Progress)."""
    return [e["to_status"] for e in history(tenant, guid) if e["from_status"] == 1]


def tasks_of(tenant: Tenant, queue: str) -> list[dict[str, Any]]:
    response = tenant.api.post(f"/api/task/filter/list/{queue}", json={"Count": 1000})
    assert response.status_code == 200, response.text
    return list(response.json())


def create(tenant: Tenant, key: str | None = None, **body: Any) -> httpx.Response:
    headers = {IDEMPOTENCY_KEY_HEADER: key} if key is not None else {}
    return tenant.api.post("/api/task/create", json=body, headers=headers)


def bulk(tenant: Tenant, key: str | None = None, **body: Any) -> httpx.Response:
    headers = {IDEMPOTENCY_KEY_HEADER: key} if key is not None else {}
    return tenant.api.post("/api/task/bulkCreate", json=body, headers=headers)


# --- finish ------------------------------------------------------------------------------------


def test_a_finish_repeated_with_the_same_lease_and_outcome_answers_200_again(
    tenant: Tenant,
) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "once")
    task = take(tenant.api, queue)[0]
    first = finish(tenant.api, task, 2, Output={"total": 7})
    assert first.status_code == 200, first.text
    again = finish(tenant.api, task, 2, Output={"total": 7})
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert finishes(tenant, task["guid"]) == [2]
    assert read(tenant.api, task["guid"])["updated"] == first.json()["updated"]


def test_a_repeated_failure_creates_one_retry_task(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, RetryApplication=True, MaxRetries=3)
    add(tenant.api, queue, "flaky")
    task = take(tenant.api, queue)[0]
    error = {"Type": "Timeout", "Message": "the portal did not answer"}
    for _ in range(3):
        response = finish(tenant.api, task, 3, Error=error)
        assert response.status_code == 200, response.text
    assert finishes(tenant, task["guid"]) == [3]
    assert sorted(t["retries"] for t in tasks_of(tenant, queue)) == [0, 1]


def test_a_repeated_postpone_answers_200_again(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "later")
    task = take(tenant.api, queue)[0]
    until = "2099-01-01T10:00:00Z"
    assert finish(tenant.api, task, 5, PostponedUntil=until).status_code == 200
    assert finish(tenant.api, task, 5, PostponedUntil=until).status_code == 200
    other_time = finish(tenant.api, task, 5, PostponedUntil="2099-01-02T10:00:00Z")
    assert other_time.status_code == 409
    assert finishes(tenant, task["guid"]) == [5]


@pytest.mark.parametrize(
    ("outcome", "other"),
    [
        ({"status": 2}, {"status": 3}),
        ({"status": 2, "Output": {"total": 7}}, {"status": 2, "Output": {"total": 8}}),
        (
            {"status": 4, "Error": {"Type": "Rule", "Message": "no VAT"}},
            {"status": 4, "Error": {"Type": "Rule", "Message": "no IBAN"}},
        ),
        ({"status": 3}, {"status": 4}),
    ],
    ids=["status", "output", "error", "failure-kind"],
)
def test_another_outcome_after_the_finish_is_409_and_changes_nothing(
    tenant: Tenant, outcome: dict[str, Any], other: dict[str, Any]
) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "t")
    task = take(tenant.api, queue)[0]
    done = finish(tenant.api, task, **outcome)
    assert done.status_code == 200, done.text
    late = finish(tenant.api, task, **other)
    assert late.status_code == 409
    assert late.json()["code"] == "lease_lost"
    assert "already finished it" in late.json()["message"]
    assert read(tenant.api, task["guid"]) == done.json()
    assert finishes(tenant, task["guid"]) == [outcome["status"]]


def test_a_finish_with_a_lease_that_did_not_finish_the_task_stays_409(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "t")
    task = take(tenant.api, queue)[0]
    assert finish(tenant.api, task, 2).status_code == 200
    stranger = finish(tenant.api, {**task, "lease_id": str(uuid.uuid4())}, 2)
    assert stranger.status_code == 409 and stranger.json()["code"] == "lease_lost"


def test_a_finish_repeated_after_the_task_was_set_by_hand_is_409(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "t")
    task = take(tenant.api, queue)[0]
    assert finish(tenant.api, task, 3).status_code == 200
    for status in (0, 3):  # an operator sets it New, then Failed (Application) again
        moved = tenant.api.put("/api/task/update", json={"Guid": task["guid"], "Status": status})
        assert moved.status_code == 200, moved.text
    assert finish(tenant.api, task, 3).status_code == 409


def test_a_batch_finish_repeated_answers_ok_for_each_and_changes_nothing(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    for i in range(3):
        add(tenant.api, queue, f"b{i}")
    one, two, three = take(tenant.api, queue, 3)
    items = [
        {"Guid": one["guid"], "LeaseId": one["lease_id"], "Status": 2},
        {"Guid": two["guid"], "LeaseId": two["lease_id"], "Status": 2},
        {"Guid": three["guid"], "LeaseId": three["lease_id"], "Status": 4, "Output": [1]},
    ]
    for _ in range(2):
        response = tenant.api.post("/api/task/finish", json={"Items": items})
        assert response.status_code == 200, response.text
        assert [(r["ok"], r["code"]) for r in response.json()["results"]] == [(True, "")] * 3
    assert [finishes(tenant, t["guid"]) for t in (one, two, three)] == [[2], [2], [4]]
    changed = [{**items[0], "Status": 3}, {**items[2], "Output": [2]}]
    response = tenant.api.post("/api/task/finish", json={"Items": changed}).json()
    assert [(r["ok"], r["code"]) for r in response["results"]] == [(False, "lease_lost")] * 2


def test_renewing_a_lease_that_finished_its_task_is_409(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "t")
    task = take(tenant.api, queue)[0]
    body = {"Guid": task["guid"], "LeaseId": task["lease_id"]}
    for _ in range(2):  # renewing a live lease twice is fine: it only moves the expiry
        assert tenant.api.post("/api/task/renew", json=body).status_code == 200
    assert finish(tenant.api, task, 2).status_code == 200
    late = tenant.api.post("/api/task/renew", json=body)
    assert late.status_code == 409 and late.json()["code"] == "lease_lost"


# --- add ---------------------------------------------------------------------------------------


def test_an_add_repeated_with_the_same_key_answers_200_with_the_same_task(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    key = str(uuid.uuid4())
    body = {"Queue": queue, "Name": "INV-1", "Parameters": {"amount": 120}, "Priority": "High"}
    first = create(tenant, key, **body)
    assert first.status_code == 200, first.text
    again = create(tenant, key, **body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert [t["guid"] for t in tasks_of(tenant, queue)] == [first.json()["guid"]]


def test_the_same_key_with_other_content_is_409_and_adds_nothing(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    key = str(uuid.uuid4())
    assert create(tenant, key, Queue=queue, Name="INV-1").status_code == 200
    for changed in (
        {"Queue": queue, "Name": "INV-2"},
        {"Queue": queue, "Name": "INV-1", "Parameters": {"amount": 1}},
        {"Queue": make_queue(tenant.api), "Name": "INV-1"},
    ):
        refused = create(tenant, key, **changed)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "idempotency_key_reused"
        assert IDEMPOTENCY_KEY_HEADER in refused.json()["message"]
    assert len(tasks_of(tenant, queue)) == 1


def test_keys_are_per_account(tenant: Tenant, other_tenant: Tenant) -> None:
    key = str(uuid.uuid4())
    mine = create(tenant, key, Queue=make_queue(tenant.api), Name="a")
    theirs = create(other_tenant, key, Queue=make_queue(other_tenant.api), Name="b")
    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["guid"] != theirs.json()["guid"]


def test_a_retried_add_to_a_unique_queue_is_not_a_duplicate_name(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, UniqueTasks=True)
    key = str(uuid.uuid4())
    first = create(tenant, key, Queue=queue, Name="only")
    again = create(tenant, key, Queue=queue, Name="only")
    assert again.status_code == 200 and again.json()["guid"] == first.json()["guid"]
    unkeyed = create(tenant, Queue=queue, Name="only")
    assert unkeyed.status_code == 409 and unkeyed.json()["code"] == "duplicate_task_name"


def test_a_retry_after_the_task_moved_on_answers_with_the_task_as_it_is(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    key = str(uuid.uuid4())
    first = create(tenant, key, Queue=queue, Name="moved").json()
    task = take(tenant.api, queue)[0]
    assert finish(tenant.api, task, 2).status_code == 200
    again = create(tenant, key, Queue=queue, Name="moved")
    assert again.status_code == 200
    assert again.json()["guid"] == first["guid"] and again.json()["status"] == 2
    assert len(tasks_of(tenant, queue)) == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "ключ"], ids=["empty", "long", "non-ascii"])
def test_a_malformed_key_is_422(tenant: Tenant, key: str) -> None:
    queue = make_queue(tenant.api)
    refused = tenant.api.post(
        "/api/task/create",
        json={"Queue": queue, "Name": "t"},
        headers={IDEMPOTENCY_KEY_HEADER: key.encode()},
    )
    assert refused.status_code == 422, refused.text
    assert IDEMPOTENCY_KEY_HEADER in refused.json()["message"]
    assert tasks_of(tenant, queue) == []


def test_the_same_client_guid_twice_adds_one_task(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    guid = str(uuid.uuid4())
    first = create(tenant, Queue=queue, Name="mine", Guid=guid.upper())
    assert first.status_code == 200, first.text
    assert first.json()["guid"] == guid
    again = create(tenant, Queue=queue, Name="mine", Guid=guid)
    assert again.status_code == 200 and again.json() == first.json()
    other = create(tenant, Queue=queue, Name="not mine", Guid=guid)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert [t["guid"] for t in tasks_of(tenant, queue)] == [guid]


def test_a_client_guid_of_another_accounts_task_is_409(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = add(other_tenant.api, make_queue(other_tenant.api), "theirs")
    queue = make_queue(tenant.api)
    refused = create(tenant, Queue=queue, Name="theirs", Guid=theirs["guid"])
    assert refused.status_code == 409 and refused.json()["code"] == "guid_taken"
    assert tasks_of(tenant, queue) == []
    plain = create(tenant, Queue=queue, Name="x", Guid=add(tenant.api, queue, "plain")["guid"])
    assert plain.status_code == 409  # a task added without naming its add is never a retry


def test_a_client_guid_must_be_a_guid(tenant: Tenant) -> None:
    refused = create(tenant, Queue=make_queue(tenant.api), Name="t", Guid="INV-1")
    assert refused.status_code == 422 and "Guid" in refused.json()["message"]


# --- bulk add ----------------------------------------------------------------------------------


def test_a_bulk_add_retried_with_the_same_key_adds_no_duplicates(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    key = str(uuid.uuid4())
    items = [{"Name": f"n{i}", "Parameters": {"i": i}} for i in range(5)]
    first = bulk(tenant, key, Queue=queue, Tasks=items)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 5 and first.json()["existing"] == 0
    again = bulk(tenant, key, Queue=queue, Tasks=items)
    assert again.status_code == 200, again.text
    assert again.json()["guids"] == first.json()["guids"]
    assert again.json()["created"] == 5 and again.json()["existing"] == 5
    assert len(tasks_of(tenant, queue)) == 5
    grown = bulk(tenant, key, Queue=queue, Tasks=[*items, {"Name": "n5"}])
    assert grown.status_code == 200
    assert grown.json()["guids"][:5] == first.json()["guids"]
    assert grown.json()["existing"] == 5 and len(tasks_of(tenant, queue)) == 6


def test_a_bulk_add_in_each_mode_retried_adds_the_good_ones_once(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    key = str(uuid.uuid4())
    items: list[Any] = [{"Name": "a"}, {"Name": ""}, {"Name": "c"}]
    for _ in range(2):
        response = bulk(tenant, key, Queue=queue, Tasks=items, Mode="each").json()
        assert response["created"] == 2
        assert [f["index"] for f in response["failed"]] == [1]
    assert sorted(t["name"] for t in tasks_of(tenant, queue)) == ["a", "c"]


def test_a_bulk_add_with_client_guids_retried_adds_no_duplicates(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    items = [{"Name": f"g{i}", "Guid": str(uuid.uuid4())} for i in range(3)]
    first = bulk(tenant, Queue=queue, Tasks=items[:2])
    assert first.status_code == 200, first.text
    again = bulk(tenant, Queue=queue, Tasks=items)  # a retry that also sends one more
    assert again.status_code == 200, again.text
    assert again.json()["guids"] == [item["Guid"] for item in items]
    assert again.json()["existing"] == 2
    assert len(tasks_of(tenant, queue)) == 3
    clash = bulk(tenant, Queue=queue, Tasks=[{**items[0], "Name": "changed"}], Mode="each")
    assert clash.json()["failed"][0]["code"] == "idempotency_key_reused"
    twice = bulk(tenant, Queue=queue, Tasks=[{"Name": "x", "Guid": items[2]["Guid"]}] * 2)
    assert twice.status_code == 422
    assert len(tasks_of(tenant, queue)) == 3


# --- the SDK's own retry of a lost answer ------------------------------------------------------


class DroppingProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to the server; for the first `drop` task adds, it lets the
    server answer and then closes the connection without passing the answer on: a lost
    response."""

    def __init__(self, upstream: str, drop: int) -> None:
        self.upstream = upstream
        self.drop = drop
        self.forwarded: list[str] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: DroppingProxy

    def do_POST(self) -> None:
        proxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        skipped = {"host", "content-length", "connection"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skipped}
        with httpx.Client(base_url=proxy.upstream, timeout=30) as client:
            reply = client.post(self.path, content=body, headers=headers)
        with proxy.lock:
            proxy.forwarded.append(self.headers.get(IDEMPOTENCY_KEY_HEADER, ""))
            lose = self.path in (Api.TASK_CREATE, Api.TASK_BULK_CREATE) and proxy.drop > 0
            proxy.drop -= int(lose)
        if lose:
            self.close_connection = True
            return  # the server committed the add; its answer never reaches the client
        self.send_response(reply.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def lossy_sdk(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> Iterator[DroppingProxy]:
    proxy = DroppingProxy(tenant.server.url, drop=2)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(JobEnv.SERVER.value, proxy.url)
    monkeypatch.setenv(API_KEY_VARIABLE, tenant.key)
    monkeypatch.delenv(JobEnv.ROBOT_GUID.value, raising=False)
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_the_sdk_add_retried_after_lost_answers_adds_once(
    tenant: Tenant, lossy_sdk: DroppingProxy
) -> None:
    queue = make_queue(tenant.api)
    added = sdk_queue(queue).add("INV-42", {"amount": 120})
    assert added["name"] == "INV-42"
    assert len(lossy_sdk.forwarded) == 3  # each attempt reached the server; two answers lost
    assert len(set(lossy_sdk.forwarded)) == 1 and lossy_sdk.forwarded[0]
    assert [t["guid"] for t in tasks_of(tenant, queue)] == [added["guid"]]


def test_the_sdk_bulk_add_retried_after_a_lost_answer_adds_once(
    tenant: Tenant, lossy_sdk: DroppingProxy
) -> None:
    lossy_sdk.drop = 1
    queue = make_queue(tenant.api)
    result = sdk_queue(queue).add_many([{"Name": f"n{i}"} for i in range(4)])
    assert result["created"] == 4 and result["existing"] == 4
    assert len(tasks_of(tenant, queue)) == 4


def test_separate_sdk_adds_are_separate_tasks(tenant: Tenant, lossy_sdk: DroppingProxy) -> None:
    lossy_sdk.drop = 0
    queue = make_queue(tenant.api)
    sdk_queue(queue).add("same")
    sdk_queue(queue).add("same")
    assert len(tasks_of(tenant, queue)) == 2
