"""What the lean-path service tests share: which path answered a request (Paths), and the
robots, queues and calls they make over the app's own client."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, SessionTransaction
from starlette.testclient import TestClient

from robofleet.server.db.dialect import WRITE_OPTION
from robofleet.server.db.tables import QueueRow, TaskRow
from tests.service.conftest import Service, Tenant
from tests.support.fleet import make_robot, robot_auth


class Paths:
    """Which path answered since the last look: statements on the driver pool (PostgreSQL's
    lean path) and ORM write sessions (the session path; SQLite's lean path begins none)."""

    def __init__(self, service: Service) -> None:
        self.pool = service.runtime.driver_pool
        self.sessions = 0
        self._seen = (self._pooled(), 0)
        self._detach = service.runtime.db.listen("after_begin", self._begun)

    def _pooled(self) -> int:
        return self.pool.statements if self.pool is not None else 0

    def _begun(self, _session: Session, _txn: SessionTransaction, connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            self.sessions += 1

    def since(self) -> tuple[int, int]:
        """(driver statements, write sessions) since the last look."""
        now = (self._pooled(), self.sessions)
        ran = (now[0] - self._seen[0], now[1] - self._seen[1])
        self._seen = now
        return ran

    def answered(self) -> str:
        """ "lean" (one driver statement on PostgreSQL, none on SQLite, and no write session),
        "session" (no driver statement, a write session) or what ran."""
        statements, sessions = self.since()
        if sessions == 0 and statements == (1 if self.pool is not None else 0):
            return "lean"
        if statements == 0 and sessions > 0:
            return "session"
        return f"{statements} statements, {sessions} sessions"

    def close(self) -> None:
        self._detach()


def robot_client(tenant: Tenant) -> TestClient:
    robot = make_robot(tenant.api)
    client = tenant.client(**robot_auth(robot))
    response = client.post("/api/robot/heartbeat", json={"RobotGUID": robot})  # warm
    assert response.status_code == 200, response.text
    return client


def new_queue(tenant: Tenant, **settings: Any) -> str:
    """settled_queue in the tenant's account."""
    return settled_queue(tenant.service, tenant.api, **settings)


def settled_queue(service: Service, api: TestClient, **settings: Any) -> str:
    """A new queue's GUID, once the cache invalidation its creation causes is over: on
    PostgreSQL the NOTIFY comes back through the listener a moment later, and would drop
    the queue rules an add cached meanwhile."""
    queues = service.runtime.queues
    echoes = 2 if service.runtime.db.dialect.notifies else 1  # at commit, and heard
    before = queues.generation
    name = f"add-{uuid.uuid4().hex[:8]}"
    response = api.post("/api/queue/create", json={"Name": name, **settings})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 10
    while queues.generation < before + echoes and time.monotonic() < deadline:
        time.sleep(0.01)
    return str(response.json()["guid"])


def robot_and_cached_queue(tenant: Tenant, **settings: Any) -> tuple[TestClient, str]:
    """A robot's client and a new queue, its rules cached by the robot's first add."""
    robot = robot_client(tenant)
    queue = new_queue(tenant, **settings)
    post(robot, "/api/task/create", {"Queue": queue, "Name": "warm"})
    return robot, queue


def statements_per_fallback(service: Service) -> int:
    """What a request the lean path leaves to the session path runs on the driver pool
    first: its guarded statement on PostgreSQL, nothing on SQLite."""
    return 1 if service.runtime.driver_pool is not None else 0


def post(client: TestClient, path: str, body: Any, status: int = 200, **kw: Any) -> Any:
    response = client.post(path, json=body, **kw)
    assert response.status_code == status, response.text
    return response.json()


def forget_queues(service: Service) -> None:
    service.runtime.queues.invalidate()


def task_count(service: Service, queue: str) -> int:
    """The tasks of the queue (by GUID), any status, deleted too."""
    with service.runtime.db.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(TaskRow)
                .join(QueueRow, QueueRow.id == TaskRow.queue_id)
                .where(QueueRow.guid == queue)
            )
            or 0
        )


def racing_adds(
    clients: list[TestClient], body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[Any]:
    """The answers of `clients` each adding `body` (task/create) at the same moment."""
    barrier = threading.Barrier(len(clients))
    answers: list[Any] = []

    def add(client: TestClient) -> None:
        barrier.wait()
        answers.append(client.post("/api/task/create", json=body, headers=headers))

    threads = [threading.Thread(target=add, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers
