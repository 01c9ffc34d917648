"""Taking and finishing tasks: take order with overdue promotion, leases and their conflicts,
batches judged item by item, and what the scheduler's timers do, run here at a chosen time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.service.conftest import Service, Tenant, make_tenant
from tests.support.queues import add, finish, make_queue, read, take

NOW = datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def fill(tenant: Tenant) -> str:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "low-due-soon", Priority="Low", Deadline=iso(NOW + timedelta(hours=1)))
    add(tenant.api, queue, "normal")
    add(tenant.api, queue, "high-later", Priority="High", Deadline=iso(NOW + timedelta(hours=5)))
    add(tenant.api, queue, "high", Priority="High")
    add(tenant.api, queue, "high-soon", Priority="High", Deadline=iso(NOW + timedelta(hours=2)))
    add(tenant.api, queue, "low-overdue", Priority="Low", Deadline=iso(NOW - timedelta(hours=1)))
    return queue


def test_take_order_and_overdue_promotion(own_service: Service) -> None:
    tenant = make_tenant(own_service)
    before, after = fill(tenant), fill(tenant)
    order = [t["name"] for t in take(tenant.api, before, 10)]
    assert order == ["low-overdue", "high-soon", "high-later", "high", "normal", "low-due-soon"]
    # Ninety minutes on, the scheduler finds `low-due-soon` overdue and moves it ahead of every
    # priority; among overdue tasks the nearest deadline still goes first.
    own_service.run_duties(NOW + timedelta(minutes=90))
    order = [t["name"] for t in take(tenant.api, after, 10)]
    assert order == ["low-overdue", "low-due-soon", "high-soon", "high-later", "high", "normal"]


def test_a_finish_needs_the_live_lease(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "a")
    task = take(tenant.api, queue)[0]
    wrong = finish(tenant.api, {**task, "lease_id": "not-the-lease"}, 2)
    assert wrong.status_code == 409 and wrong.json()["code"] == "lease_lost"
    assert read(tenant.api, task["guid"])["status"] == 1
    assert finish(tenant.api, task, 2).status_code == 200
    twice = finish(tenant.api, task, 3)
    assert twice.status_code == 409 and twice.json()["code"] == "lease_lost"
    assert read(tenant.api, task["guid"])["status"] == 2
    renew = tenant.api.post(
        "/api/task/renew", json={"Guid": task["guid"], "LeaseId": task["lease_id"]}
    )
    assert renew.status_code == 409


def test_a_batch_finish_judges_each_item(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "a")
    add(tenant.api, queue, "b")
    first, second = take(tenant.api, queue, 2)
    assert first["lease_id"] == second["lease_id"]  # one lease for one take
    response = tenant.api.post(
        "/api/task/finish",
        json={
            "Items": [
                {"Guid": first["guid"], "LeaseId": first["lease_id"], "Status": 2},
                {"Guid": second["guid"], "LeaseId": second["lease_id"], "Status": 5},
            ]
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["ok"], r["code"]) for r in results] == [(True, ""), (False, "invalid_input")]
    assert "PostponedUntil is required" in results[1]["message"]
    assert (read(tenant.api, "a")["status"], read(tenant.api, "b")["status"]) == (2, 1)


def test_unique_names_and_manual_status_rules(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, UniqueTasks=True)
    task = add(tenant.api, queue, "INV-1")
    twice = tenant.api.post("/api/task/create", json={"Queue": queue, "Name": "INV-1"})
    assert twice.status_code == 409 and twice.json()["code"] == "duplicate_task_name"
    manual = tenant.api.put("/api/task/update", json={"Guid": task["guid"], "Status": 4})
    assert manual.status_code == 200
    refused = tenant.api.put("/api/task/update", json={"Guid": task["guid"], "Status": 1})
    assert refused.status_code == 409 and refused.json()["code"] == "task_taken"
    history = tenant.api.get(f"/api/task/history/{task['guid']}").json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [(None, 0), (0, 4)]


def test_timers_expire_leases_release_postponed_and_abandon(own_service: Service) -> None:
    tenant = make_tenant(own_service)
    # The clock at the test's start, not the module's import: a postponement must still be in
    # the future when the task is added, however long the run waited before this test.
    now = datetime.now(UTC)
    queue = make_queue(tenant.api, RetryApplication=True, MaxRetries=1, AbandonNewMinutes=60)
    add(tenant.api, queue, "held")
    held = take(tenant.api, queue, LeaseSeconds=30)[0]
    later = add(tenant.api, queue, "later", PostponedUntil=iso(now + timedelta(minutes=5)))
    assert later["status"] == 5

    own_service.run_duties(now + timedelta(minutes=10))
    expired = read(tenant.api, held["guid"])
    assert (expired["status"], expired["error"]["type"]) == (3, "LeaseExpired")
    assert finish(tenant.api, held, 2).status_code == 409
    assert read(tenant.api, later["guid"])["status"] == 0
    retry = tenant.api.post(f"/api/task/filter/list/{queue}/name=held/status=0").json()
    assert [t["parent_task"] for t in retry] == [held["guid"]]

    own_service.run_duties(now + timedelta(minutes=75))
    assert read(tenant.api, later["guid"])["status"] == 6
    assert read(tenant.api, retry[0]["guid"])["status"] == 6


def lease_length(task: dict[str, str]) -> timedelta:
    def at(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")

    return at(task["lease_expires_at"]) - at(task["started"])


def test_queue_settings_apply_to_the_next_take(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, LeaseSeconds=60)
    add(tenant.api, queue, "a")
    add(tenant.api, queue, "b")
    assert lease_length(take(tenant.api, queue)[0]) == timedelta(seconds=60)
    assert tenant.api.put("/api/queue/update", json={"Guid": queue, "LeaseSeconds": 600}).is_success
    assert lease_length(take(tenant.api, queue)[0]) == timedelta(seconds=600)
    busy = tenant.api.delete(f"/api/queue/delete/{queue}")
    assert busy.status_code == 409 and busy.json()["code"] == "queue_busy"
