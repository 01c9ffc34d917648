"""queue/lastTask with Sherpa's framework's status filter: 0 (or none) is the next New task in
take order; another status is the oldest task in it; several statuses are one set; nothing is
taken, whichever status is asked for."""

from __future__ import annotations

from tests.service.conftest import Tenant
from tests.support.queues import add, finish, make_queue, read, take


def test_last_task_by_status(tenant: Tenant) -> None:
    queue = make_queue(tenant.api)
    for name in ("old-failed", "newer-failed", "business", "low-new", "high-new"):
        add(tenant.api, queue, name, Priority="Low" if name == "low-new" else "High")
    taken = {task["name"]: task for task in take(tenant.api, queue, 3)}
    assert set(taken) == {"old-failed", "newer-failed", "business"}
    for name, status in (("old-failed", 3), ("newer-failed", 3), ("business", 4)):
        assert finish(tenant.api, taken[name], status).status_code == 200

    def last(**params: object) -> str:
        response = tenant.api.get(f"/api/queue/lastTask/{queue}", params=params)
        assert response.status_code == 200, response.text
        return str(response.json()["name"])

    assert last() == last(Status=0) == "high-new"  # take order: High before Low
    assert last(Status=3) == "old-failed"
    assert last(Status=4) == "business"
    assert last(Status="4,3") == "old-failed"
    missing = tenant.api.get(f"/api/queue/lastTask/{queue}", params={"Status": 5})
    assert missing.status_code == 404
    statuses = {name: read(tenant.api, task["guid"])["status"] for name, task in taken.items()}
    assert statuses == {"old-failed": 3, "newer-failed": 3, "business": 4}
    left = [task["name"] for task in take(tenant.api, queue, 10)]
    assert left == ["high-new", "low-new"]  # showing them took neither
