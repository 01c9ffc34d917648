"""A server killed (SIGKILL) in the middle of a take/finish load loses nothing it acknowledged:
every finish it answered 200 is in the database after the restart, on both stores (SQLite's
group commit answers a write only after the COMMIT that holds it; PostgreSQL's one-statement
finish commits before its answer)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.support.queues import make_queue
from tests.support.server import ServerProcess

TAKERS = 6


def _take_and_finish(server: ServerProcess, queue: str, acknowledged: list[str]) -> None:
    with server.client() as api:
        while True:
            try:
                taken = api.post("/api/task/take", json={"Queue": queue, "Count": 1})
                if taken.status_code != 200 or not taken.json()["tasks"]:
                    return
                task = taken.json()["tasks"][0]
                finished = api.post(
                    "/api/task/finish",
                    json={"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2},
                )
            except httpx.HTTPError:
                return  # the server is gone
            if finished.status_code == 200:
                acknowledged.append(task["guid"])


@pytest.mark.slow
@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_every_acknowledged_finish_survives_a_kill(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    api = fresh_server.client()
    queue = make_queue(api)
    response = api.post(
        "/api/task/bulkCreate",
        json={"Queue": queue, "Tasks": [{"Name": f"t{n}"} for n in range(3000)]},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    acknowledged: list[str] = []
    takers = [
        threading.Thread(target=_take_and_finish, args=(fresh_server, queue, acknowledged))
        for _ in range(TAKERS)
    ]
    for taker in takers:
        taker.start()
    while len(acknowledged) < 100 and any(taker.is_alive() for taker in takers):
        time.sleep(0.01)
    assert len(acknowledged) >= 100, fresh_server.output()
    fresh_server.kill()  # mid-load: requests are in flight
    for taker in takers:
        taker.join(60)
        assert not taker.is_alive()
    fresh_server.start()
    api = fresh_server.client()
    for guid in list(acknowledged):
        task = api.get(f"/api/task/read/{guid}")
        assert task.status_code == 200, task.text
        assert task.json()["status"] == 2, task.json()
