"""The lean front answers the hot robot operations itself (it names the operation in the
ASGI scope, for metrics) and leaves what it cannot answer exactly like FastAPI to FastAPI:
a credential that does not authenticate, a body that does not validate, another content type."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from robofleet.server.api.fast.front import OPERATION_KEY
from tests.service.conftest import Service, Tenant
from tests.support.fleet import make_robot, robot_auth
from tests.support.queues import add, make_queue


class Recorder:
    """The app, noting which operation the front answered for each request."""

    def __init__(self, service: Service) -> None:
        self.app = service.app
        self.answered: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.answered.append(scope.get(OPERATION_KEY))


@pytest.fixture
def recorded(service: Service) -> Iterator[tuple[Recorder, Service]]:
    yield Recorder(service), service


def client_of(recorder: Recorder, service: Service, **headers: str) -> TestClient:
    client = TestClient(recorder, headers=headers)
    client.portal = service.admin.portal
    return client


def answered_by_front(
    recorder: Recorder, client: TestClient, method: str, path: str, **kwargs: Any
) -> tuple[str | None, Any]:
    response = client.request(method, path, **kwargs)
    return recorder.answered[-1], response


def test_each_hot_operation_is_answered_by_the_front(
    recorded: tuple[Recorder, Service], tenant: Tenant
) -> None:
    recorder, service = recorded
    api = client_of(recorder, service, Key=tenant.key)
    queue = make_queue(tenant.api)
    robot = make_robot(tenant.api)
    robot_api = client_of(recorder, service, **robot_auth(robot))
    # A caller's first call, its credential not cached yet, is the front's too: it looks the
    # credential up as FastAPI's dependency does (each robot's entry ages out after 150-300 s).
    assert answered_by_front(recorder, api, "POST", "/api/task/take", json={"Queue": queue})[0]
    first_beat = answered_by_front(
        recorder, robot_api, "POST", "/api/robot/heartbeat", json={"RobotGUID": robot}
    )
    assert first_beat[0] == "Robot-heartbeat" and first_beat[1].status_code == 200
    add(tenant.api, queue, "a")
    asset = f"asset-{uuid.uuid4().hex[:6]}"
    assert tenant.api.post("/api/asset/create", json={"Name": asset, "Text": "x"}).is_success

    calls: list[tuple[str, TestClient, str, str, dict[str, Any]]] = [
        (
            "Task-create_task",
            api,
            "POST",
            "/api/task/create",
            {"json": {"Queue": queue, "Name": "b"}},
        ),
        (
            "Task-bulk_create",
            api,
            "POST",
            "/api/task/bulkCreate",
            {"json": {"Queue": queue, "Tasks": [{"Name": "c"}]}},
        ),
        ("Task-take", api, "POST", "/api/task/take", {"data": {"queue": queue, "count": "1"}}),
        (
            "Robot-heartbeat",
            robot_api,
            "POST",
            "/api/robot/heartbeat",
            {"data": {"RobotGUID": robot}},
        ),
        (
            "Robot-consume_next_job",
            robot_api,
            "POST",
            "/api/robot/consumeNextJob",
            {"json": {"robot_guid": robot}},
        ),
        (
            "Robot-wait_job",
            robot_api,
            "POST",
            "/api/robot/waitJob",
            {"json": {"RobotGUID": robot, "Timeout": 1}},
        ),
        (
            "Log-batch_logs",
            robot_api,
            "POST",
            "/api/log/batch",
            {
                "content": json.dumps({"Lines": [{"Message": "m"}]}),
                "headers": {"Content-Type": "application/json"},
            },
        ),
        ("Resource-read_resource", robot_api, "GET", f"/api/asset/read/{asset}", {}),
    ]
    for operation, client, method, path, kwargs in calls:
        answered, response = answered_by_front(recorder, client, method, path, **kwargs)
        assert response.status_code == 200, (path, response.text)
        assert answered == operation, path

    taken = api.post("/api/task/take", json={"Queue": queue}).json()["tasks"][0]
    lease = {"Guid": taken["guid"], "LeaseId": taken["lease_id"]}
    answered, response = answered_by_front(recorder, api, "POST", "/api/task/renew", json=lease)
    assert (answered, response.status_code) == ("Task-renew", 200), response.text
    answered, response = answered_by_front(
        recorder, api, "POST", "/api/task/finish", json={**lease, "Status": 2}
    )
    assert (answered, response.status_code) == ("Task-finish", 200), response.text


def test_what_the_front_cannot_answer_goes_to_fastapi(
    recorded: tuple[Recorder, Service], tenant: Tenant
) -> None:
    recorder, service = recorded
    api = client_of(recorder, service, Key=tenant.key)
    queue = make_queue(tenant.api)
    assert api.post("/api/task/take", json={"Queue": queue}).status_code == 200

    missing = api.post("/api/task/create", json={"Name": "no queue"})
    assert (recorder.answered[-1], missing.status_code) == (None, 422)
    assert missing.json()["details"] == [{"field": "Queue", "problem": "is required"}]
    broken = api.post(
        "/api/task/take", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (recorder.answered[-1], broken.status_code) == (None, 400)
    unknown = client_of(recorder, service, Key=str(uuid.uuid4()))
    refused = unknown.post("/api/task/take", json={"Queue": queue})
    assert (recorder.answered[-1], refused.status_code) == (None, 401)
    queried = api.post("/api/task/take?x=1", json={"Queue": queue})
    assert (recorder.answered[-1], queried.status_code) == (None, 200)
    # orjson would read this number as a float that passes the 64-bit check: FastAPI refuses it.
    huge = b'{"Items": [{"Guid": "x", "Payload": {"n": -9223372036854775809}}]}'
    past_64_bits = api.post(
        "/api/task/finish", content=huge, headers={"Content-Type": "application/json"}
    )
    assert (recorder.answered[-1], past_64_bits.status_code) == (None, 422), past_64_bits.text
    assert "must be a whole number" in past_64_bits.json()["message"]


def test_service_errors_are_answered_by_the_front_with_the_common_body(
    recorded: tuple[Recorder, Service], tenant: Tenant
) -> None:
    recorder, service = recorded
    api = client_of(recorder, service, Key=tenant.key)
    queue = make_queue(tenant.api)
    assert api.post("/api/task/take", json={"Queue": queue}).status_code == 200

    answered, response = answered_by_front(
        recorder, api, "POST", "/api/task/take", json={"Queue": "no-such-queue"}
    )
    assert (answered, response.status_code) == ("Task-take", 404)
    body = response.json()
    assert body["path"] == "/api/task/take" and body["code"] and body["message"]


def test_the_body_limit_holds_for_a_body_the_front_reads(
    recorded: tuple[Recorder, Service], tenant: Tenant
) -> None:
    """Sent without Content-Length, the body's size is known only while the front reads it."""
    recorder, service = recorded
    api = client_of(recorder, service, Key=tenant.key)
    queue = make_queue(tenant.api)
    assert api.post("/api/task/take", json={"Queue": queue}).status_code == 200
    limit = service.runtime.settings.max_body_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"Queue": "' + queue.encode() + b'", "Name": "'
        yield b"x" * limit
        yield b'"}'

    response = api.post(
        "/api/task/create", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert api.post("/api/task/take", json={"Queue": queue}).json()["tasks"] == []


def test_a_body_without_a_declared_length_goes_to_fastapi(
    recorded: tuple[Recorder, Service], tenant: Tenant
) -> None:
    """The front reads only a body whose declared length is within the limit; a chunked one
    is read by the stack behind it, whose body limit counts it as it arrives."""
    recorder, service = recorded
    api = client_of(recorder, service, Key=tenant.key)
    queue = make_queue(tenant.api)

    def chunks() -> Iterator[bytes]:
        yield b'{"Queue": "' + queue.encode() + b'"}'

    response = api.post(
        "/api/task/take", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert (recorder.answered[-1], response.status_code) == (None, 200), response.text
    declared = api.post("/api/task/take", json={"Queue": queue})
    assert (recorder.answered[-1], declared.status_code) == ("Task-take", 200)


def test_an_unexpected_error_is_answered_with_the_common_500(
    recorded: tuple[Recorder, Service], tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No server-error layer stands outside the front: it answers the app's 500 itself (and
    the error still goes on up to the server, which logs it)."""
    recorder, service = recorded
    queue = make_queue(tenant.api)

    def broken(*_args: Any, **_kwargs: Any) -> bytes:
        raise RuntimeError("rendering broke")

    monkeypatch.setattr("robofleet.server.api.fast.front._rendered", broken)
    client = TestClient(recorder, headers={"Key": tenant.key}, raise_server_exceptions=False)
    client.portal = service.admin.portal
    response = client.post("/api/task/take", json={"Queue": queue})
    assert (recorder.answered[-1], response.status_code) == ("Task-take", 500)
    body = response.json()
    assert body["code"] == "internal_error" and body["path"] == "/api/task/take"
