"""Issue 9, point 6: a task an integration takes with Sherpa's `task/update Status 1` is held
for the queue's abandon timer (24 h when none is set), not the short robot lease; a finish
after the take is over is refused with 409 and changes nothing, so no task is done twice;
a robot of the account may finish a task the account key took."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_robot
from tests.support.queues import eventually

LEASE_SECONDS = 5
"""The queue's robot lease: shorter than every hold below, so a take that used it would
expire while the test watches."""


def basic(key: str) -> dict[str, str]:
    """Sherpa's Python example: 'Basic ' + base64(api_key or robot_guid)."""
    return {"Authorization": "Basic " + base64.b64encode(key.encode("utf-8")).decode("utf-8")}


def integration(tenant: Tenant) -> httpx.Client:
    return tenant.client(**basic(tenant.key))


def make_queue(tenant: Tenant, **settings: Any) -> str:
    response = tenant.api.post(
        "/api/queue/create",
        json={"Name": f"q-{time.monotonic_ns()}", "LeaseSeconds": LEASE_SECONDS, **settings},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["guid"])


def take_as_sherpa(client: httpx.Client, queue: str, name: str) -> str:
    """The Python example: add, lastTask, then task/update status 1 (form bodies)."""
    added = client.post("/api/task/create", data={"queue_guid": queue, "name": name})
    assert added.status_code == 200, added.text
    last = client.get(f"/api/queue/lastTask/{queue}")
    assert last.status_code == 200, last.text
    guid = str(last.json()["guid"])
    taken = client.put("/api/task/update", data={"guid": guid, "status": 1})
    assert taken.status_code == 200 and taken.json() == [], taken.text
    return guid


def status_of(tenant: Tenant, guid: str) -> int:
    return int(tenant.api.get(f"/api/task/read/{guid}").json()["status"])


def tasks_of(tenant: Tenant, queue: str) -> list[dict[str, Any]]:
    return list(tenant.api.post(f"/api/task/filter/list/{queue}").json())


def test_a_key_take_is_held_for_the_abandon_timer_and_a_late_finish_is_refused(
    tenant: Tenant,
) -> None:
    hold = 12.0  # seconds: the queue's In Progress abandon timer
    queue = make_queue(
        tenant,
        AbandonInProgressMinutes=hold / 60,
        RetryApplication=1,
        RetryAbandoned=1,
        MaxRetries=1,
    )
    with integration(tenant) as client:
        started = time.monotonic()
        guid = take_as_sherpa(client, queue, "invoice-1")
        time.sleep(LEASE_SECONDS + 2)
        assert status_of(tenant, guid) == 1  # the robot lease would have expired by now
        eventually(lambda: status_of(tenant, guid) != 1, timeout=hold + 10)
        assert time.monotonic() - started >= hold - 1  # held until its timer, not before
        ended = tenant.api.get(f"/api/task/read/{guid}").json()
        assert ended["status"] in (3, 6), ended  # Failed (Application) or Abandoned

        late = client.put("/api/task/update", data={"guid": guid, "status": 2})
        assert late.status_code == 409, late.text
        assert late.json()["code"] == "task_not_in_progress"
        assert "nothing changed" in late.json()["message"]
        assert tenant.api.get(f"/api/task/read/{guid}").json() == ended  # nothing changed

    # The retry is the one task left to do; done once, the work is done once.
    tasks = tasks_of(tenant, queue)
    retries = [t for t in tasks if t["parent_task"] == guid]
    assert len(retries) == 1 and retries[0]["status"] == 0
    with integration(tenant) as client:
        retry = take_as_sherpa_existing(client, retries[0]["guid"])
        finished = client.put("/api/task/update", data={"guid": retry, "status": 2})
        assert finished.status_code == 200, finished.text
        # The same finish again by the same caller is answered as done, and changes nothing.
        again = client.put("/api/task/update", data={"guid": retry, "status": 2})
        assert again.status_code == 200, again.text
    done = [t for t in tasks_of(tenant, queue) if t["status"] == 2]
    assert [t["guid"] for t in done] == [retry]
    assert status_of(tenant, guid) == ended["status"]


def take_as_sherpa_existing(client: httpx.Client, guid: str) -> str:
    taken = client.put("/api/task/update", data={"guid": guid, "status": 1})
    assert taken.status_code == 200, taken.text
    return guid


def test_without_a_timer_the_key_holds_the_task_and_a_robot_may_finish_it(
    tenant: Tenant,
) -> None:
    queue = make_queue(tenant)
    robot = make_robot(tenant.api)
    with integration(tenant) as client:
        first = take_as_sherpa(client, queue, "first")
        second = take_as_sherpa(client, queue, "second")
    time.sleep(LEASE_SECONDS + 2)
    assert (status_of(tenant, first), status_of(tenant, second)) == (1, 1)  # Sherpa's 24 h

    with tenant.client(**basic(robot)) as as_robot:
        # A lease id that is not the task's says otherwise: 409, nothing changes (text that
        # is no GUID too: PostgreSQL keeps lease ids as `uuid`).
        for stranger in ("00000000-0000-4000-8000-000000000000", "not-the-lease"):
            wrong = as_robot.put(
                "/api/task/update", data={"guid": first, "status": 2, "lease_id": stranger}
            )
            assert wrong.status_code == 409, wrong.text
            assert status_of(tenant, first) == 1
        # Without one, a robot of the account finishes what the account key took.
        done = as_robot.put("/api/task/update", data={"guid": first, "status": 2})
        assert done.status_code == 200 and done.json() == [], done.text
        failed = as_robot.put("/api/task/update", data={"guid": second, "status": 4})
        assert failed.status_code == 200, failed.text
    assert (status_of(tenant, first), status_of(tenant, second)) == (2, 4)

    # The key's own later finish of a task the robot finished is refused.
    with integration(tenant) as client:
        late = client.put("/api/task/update", data={"guid": first, "status": 3})
        assert late.status_code == 409, late.text
    assert status_of(tenant, first) == 2
