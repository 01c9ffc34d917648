"""What time and failures do to tasks: retries, postponing, lease expiry, abandon timers,
jobs that end badly, and robots whose heartbeats keep their leases alive."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from tests.acceptance.conftest import Tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import add, eventually, finish, make_queue, read, take


def children_of(tenant: Tenant, queue: str, name: str) -> list[dict]:  # type: ignore[type-arg]
    tasks = tenant.api.post(f"/api/task/filter/list/{queue}/name={name}").json()
    return sorted(tasks, key=lambda t: t["id"])


def test_application_failures_are_retried_up_to_the_limit(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, RetryApplication=True, MaxRetries=2)
    original = add(tenant.api, queue, "flaky", Parameters={"n": 1}, Priority="High", Tags="x")
    for attempt in range(3):
        task = take(tenant.api, queue)[0]
        assert task["retries"] == attempt
        finish(tenant.api, task, 3, Error={"message": f"try {attempt}"})
    assert take(tenant.api, queue) == []
    tasks = children_of(tenant, queue, "flaky")
    assert [t["retries"] for t in tasks] == [0, 1, 2]
    assert [t["status"] for t in tasks] == [3, 3, 3]  # each failed one keeps its status
    assert tasks[1]["parent_task"] == original["guid"]
    assert tasks[2]["parent_task"] == tasks[1]["guid"]
    assert all(
        t["parameters"] == {"n": 1} and t["priority"] == 3 and t["tags"] == "x" for t in tasks
    )


def test_business_failures_are_not_retried_unless_the_queue_says(tenant: Tenant) -> None:
    plain = make_queue(tenant.api, RetryApplication=True, MaxRetries=3)
    add(tenant.api, plain, "rule")
    finish(tenant.api, take(tenant.api, plain)[0], 4)
    assert take(tenant.api, plain) == []
    business = make_queue(tenant.api, RetryBusiness=True, MaxRetries=1)
    add(tenant.api, business, "rule")
    finish(tenant.api, take(tenant.api, business)[0], 4)
    retry = take(tenant.api, business)[0]
    assert retry["retries"] == 1 and retry["name"] == "rule"


def test_retry_delay_postpones_the_retry(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, RetryApplication=True, MaxRetries=1, RetryDelaySeconds=2)
    add(tenant.api, queue, "later")
    finish(tenant.api, take(tenant.api, queue)[0], 3)
    retry = children_of(tenant, queue, "later")[1]
    assert retry["status"] == 5 and retry["postponed"] is not None
    assert take(tenant.api, queue) == []
    eventually(lambda: read(tenant.api, retry["guid"])["status"] == 0)
    assert take(tenant.api, queue)[0]["guid"] == retry["guid"]


def test_postponed_tasks_come_back_at_their_time(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    created = add(tenant.api, queue, "wait", PostponedUntil=soon)
    assert created["status"] == 5
    add(tenant.api, queue, "again")
    task = take(tenant.api, queue)[0]
    assert task["name"] == "again"
    finish(tenant.api, task, 5, PostponedUntil=soon)
    eventually(lambda: len(tenant.api.post(f"/api/task/filter/list/{queue}/status=0").json()) == 2)
    history = tenant.api.get(f"/api/task/history/{created['guid']}").json()
    assert history[-1]["reason"] == "postponed time reached"


def test_an_expired_lease_is_an_application_failure_then_retried(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, RetryApplication=True, MaxRetries=1)
    add(tenant.api, queue, "slow")
    task = take(tenant.api, queue, LeaseSeconds=5)[0]
    eventually(lambda: read(tenant.api, task["guid"])["status"] == 3)
    expired = read(tenant.api, task["guid"])
    assert expired["error"]["type"] == "LeaseExpired"
    late = finish(tenant.api, task, 2)
    assert late.status_code == 409
    retry = take(tenant.api, queue)[0]
    assert retry["parent_task"] == task["guid"]


def test_renewing_keeps_the_lease(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "long")
    task = take(tenant.api, queue, LeaseSeconds=5)[0]
    for _ in range(4):
        renewed = tenant.api.post(
            "/api/task/renew", json={"Guid": task["guid"], "LeaseId": task["lease_id"]}
        ).json()
        assert renewed["results"][0]["ok"] is True
        time.sleep(2)
    assert read(tenant.api, task["guid"])["status"] == 1
    # A lease id is read as a GUID: any case or braces name the lease; other text names none.
    braced = "{" + task["lease_id"].upper() + "}"
    renewed = tenant.api.post("/api/task/renew", json={"Guid": task["guid"], "LeaseId": braced})
    assert renewed.json()["results"][0]["ok"] is True
    for stranger in ("not-the-lease", str(uuid.uuid4())):
        wrong = tenant.api.post("/api/task/renew", json={"Guid": task["guid"], "LeaseId": stranger})
        assert wrong.status_code == 409 and wrong.json()["code"] == "lease_lost", wrong.text
    assert finish(tenant.api, task).status_code == 200
    stale = tenant.api.post(
        "/api/task/renew", json={"Guid": task["guid"], "LeaseId": task["lease_id"]}
    )
    assert stale.status_code == 409


def test_abandon_timers(tenant: Tenant) -> None:
    queue = make_queue(
        tenant.api,
        AbandonNewMinutes=0.03,
        AbandonInProgressMinutes=0.03,
        RetryAbandoned=True,
        MaxRetries=1,
    )
    idle = add(tenant.api, queue, "idle")
    eventually(lambda: read(tenant.api, idle["guid"])["status"] == 6)
    retry = take(tenant.api, queue, LeaseSeconds=600)[0]
    assert retry["parent_task"] == idle["guid"]
    eventually(lambda: read(tenant.api, retry["guid"])["status"] == 6)
    assert "In Progress for more than" in read(tenant.api, retry["guid"])["error"]["message"]
    assert children_of(tenant, queue, "idle")[-1]["guid"] == retry["guid"]  # max retries hit


def test_a_failed_job_fails_its_tasks_when_the_queue_says(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    auto = make_queue(tenant.api, AutoChangeStatus=True)
    manual = make_queue(tenant.api)
    add(tenant.api, auto, "a")
    add(tenant.api, manual, "m")
    job = create_job(tenant.api, make_process(tenant.api), Robot=robot)["guid"]
    with tenant.client(**robot_auth(robot)) as client:
        client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot})
        client.put("/api/job/update", json={"Guid": job, "Status": 8})
        a = client.post("/api/task/take", json={"Queue": auto}).json()["tasks"][0]
        m = client.post("/api/task/take", json={"Queue": manual}).json()["tasks"][0]
        assert a["job_guid"] == job and m["job_guid"] == job
        client.put("/api/job/update", json={"Guid": job, "Status": 5})
    failed = read(tenant.api, a["guid"])
    assert failed["status"] == 3 and "ended Failed" in failed["error"]["message"]
    assert read(tenant.api, m["guid"])["status"] == 1


def test_a_robots_heartbeat_renews_its_leases(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "held")
    with tenant.client(**robot_auth(robot)) as client:
        task = client.post("/api/task/take", json={"Queue": queue, "LeaseSeconds": 5}).json()
        held = task["tasks"][0]
        for _ in range(5):
            client.post("/api/robot/heartbeat", json={"RobotGUID": robot, "Status": 2})
            time.sleep(1.5)
        assert read(tenant.api, held["guid"])["status"] == 1
        done = client.post(
            "/api/task/finish",
            json={"Guid": held["guid"], "LeaseId": held["lease_id"], "Status": 2},
        )
        assert done.status_code == 200


def test_batch_finish_judges_each_task(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    for i in range(3):
        add(tenant.api, queue, f"b{i}")
    one, two, three = take(tenant.api, queue, 3)
    response = tenant.api.post(
        "/api/task/finish",
        json={
            "Items": [
                {"Guid": one["guid"], "LeaseId": one["lease_id"], "Status": 2},
                {"Guid": two["guid"], "LeaseId": "wrong", "Status": 2},
                {"Guid": three["guid"], "LeaseId": three["lease_id"], "Status": 9},
            ]
        },
    ).json()
    assert [(r["ok"], r["code"]) for r in response["results"]] == [
        (True, ""),
        (False, "lease_lost"),
        (False, "invalid_input"),
    ]
    assert [read(tenant.api, t["guid"])["status"] for t in (one, two, three)] == [2, 1, 1]
