"""Many writes at once through the real server, lean and session paths mixed: on SQLite the
lean ones share commits on the front's write lane, and a finish that takes the session path
(an application failure, which creates its retry) leaves the lane and runs again on the
front's threads. Each request is answered for its own task, and each change is made once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.acceptance.conftest import Tenant
from tests.support.queues import finish, make_queue, take

TASKS = 48
CLIENTS = 12


def test_lean_and_session_finishes_at_once_each_change_once(tenant: Tenant) -> None:
    queue = make_queue(tenant.api, RetryApplication=True, MaxRetries=1)
    created = tenant.api.post(
        "/api/task/bulkCreate",
        json={"Queue": queue, "Tasks": [{"Name": f"t{n}"} for n in range(TASKS)]},
    )
    assert created.json()["created"] == TASKS
    tasks = take(tenant.api, queue, count=TASKS)
    assert len(tasks) == TASKS
    clients = [tenant.client(key=tenant.key) for _ in range(CLIENTS)]

    def finish_one(index: int) -> tuple[int, int, dict[str, Any]]:
        task = tasks[index]
        failed = int(task["name"][1:]) % 2 == 1
        status = 3 if failed else 2  # an application failure takes the session path
        fields: dict[str, Any] = {"Error": {"message": "flaky"}} if failed else {}
        response = finish(clients[index % CLIENTS], task, status, **fields)
        return status, response.status_code, response.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(finish_one, range(TASKS)))
    for client in clients:
        client.close()

    for task, (status, code, body) in zip(tasks, answers, strict=True):
        assert code == 200, body
        assert (body["guid"], body["status"]) == (task["guid"], status)
    listed = tenant.api.post(f"/api/task/filter/list/{queue}").json()
    by_name: dict[str, list[dict[str, Any]]] = {}
    for each in listed:
        by_name.setdefault(each["name"], []).append(each)
    for n in range(TASKS):
        found = sorted(by_name[f"t{n}"], key=lambda t: t["retries"])
        if n % 2:
            # The failed task, and exactly one retry of it, new.
            assert [(t["status"], t["retries"]) for t in found] == [(3, 0), (0, 1)]
            assert found[1]["parent_task"] == found[0]["guid"]
        else:
            assert [(t["status"], t["retries"]) for t in found] == [(2, 0)]
    counts = {q["name"]: q["counts"] for q in tenant.api.get("/api/queue/list").json()}[queue]
    assert counts["Success"] == TASKS // 2
    assert sum(counts.values()) == TASKS + TASKS // 2
