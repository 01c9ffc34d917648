"""The label logic of the metrics: which operation a request counts under (bounded for
unknown paths and methods), status words, the metrics token, and the multiprocess folder."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from prometheus_client import REGISTRY
from pydantic import SecretStr
from starlette.routing import Route

from robofleet.contract import RobotStatus, TaskStatus
from robofleet.server.api.request_metrics import (
    OPERATION_KEY,
    UNMATCHED,
    RequestMetrics,
    method_label,
    route_label,
)
from robofleet.server.db.status_counts import StatusCount
from robofleet.server.domain.errors import Unauthenticated
from robofleet.server.runtime.metrics.exposition import (
    MULTIPROCESS_VARIABLE,
    check_token,
    multiprocess_folder,
)
from robofleet.server.runtime.metrics.processes import worker_pids
from robofleet.server.runtime.metrics.status_gauges import by_status, status_label


def endpoint() -> dict[str, str]:
    return {}


def requests_counted(operation: str, method: str, code: str) -> float:
    labels = {"operation": operation, "method": method, "code": code}
    return REGISTRY.get_sample_value("robofleet_http_requests_total", labels) or 0.0


def observed(operation: str, method: str) -> float:
    labels = {"operation": operation, "method": method}
    return REGISTRY.get_sample_value("robofleet_http_request_duration_seconds_count", labels) or 0.0


async def call(app: Any, method: str = "GET") -> None:
    scope = {"type": "http", "method": method, "path": "/x", "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_message: dict[str, Any]) -> None:
        return None

    await RequestMetrics(app)(scope, receive, send)


def answering(status: int, **scope_keys: Any) -> Any:
    """An ASGI app that marks the scope as a router or the lean front would, then answers."""

    async def app(scope: dict[str, Any], _receive: Any, send: Any) -> None:
        scope.update(scope_keys)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def test_a_fastapi_route_counts_under_its_tag_and_handler() -> None:
    route = APIRoute("/api/task/take", endpoint, methods=["POST"], tags=["Task"])
    assert route_label(route) == "Task-endpoint"
    assert route_label(APIRoute("/x", endpoint, methods=["GET"])) == "default-endpoint"


def test_other_routes_count_under_their_path_template_and_no_route_as_unmatched() -> None:
    assert route_label(Route("/docs/{page}", endpoint)) == "/docs/{page}"
    assert route_label(None) == UNMATCHED
    assert route_label(object()) == UNMATCHED


def test_only_known_methods_become_label_values() -> None:
    assert method_label("POST") == "POST"
    assert method_label("BREW") == method_label("get") == "other"


def test_the_operation_named_by_the_front_wins_over_the_route() -> None:
    front = f"front-{uuid.uuid4().hex[:6]}"
    route = APIRoute(f"/api/{uuid.uuid4().hex[:6]}", endpoint, methods=["POST"])
    asyncio.run(call(answering(200, route=route, **{OPERATION_KEY: front}), "POST"))
    assert requests_counted(front, "POST", "200") == 1
    assert requests_counted(route_label(route), "POST", "200") == 0
    asyncio.run(call(answering(200, route=route), "POST"))
    asyncio.run(call(answering(409, route=route), "POST"))
    assert requests_counted(route_label(route), "POST", "200") == 1
    assert requests_counted(route_label(route), "POST", "409") == 1
    assert observed(route_label(route), "POST") == 2


def test_unknown_paths_and_methods_add_no_new_series() -> None:
    before = requests_counted(UNMATCHED, "other", "404")
    for _ in range(3):
        asyncio.run(call(answering(404), f"X{uuid.uuid4().hex[:6].upper()}"))
    assert requests_counted(UNMATCHED, "other", "404") == before + 3


def test_a_request_that_raises_counts_as_a_500() -> None:
    route = APIRoute(f"/api/{uuid.uuid4().hex[:6]}", endpoint, methods=["GET"])

    async def failing(scope: dict[str, Any], _receive: Any, _send: Any) -> None:
        scope["route"] = route
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        asyncio.run(call(failing))
    assert requests_counted(route_label(route), "GET", "500") == 1


def test_statuses_are_sherpa_words_and_every_one_is_listed() -> None:
    assert status_label(TaskStatus, 3) == "Failed (Application)"
    assert status_label(RobotStatus, 2) == "Ready"
    assert status_label(TaskStatus, 42) == "42"  # a newer server's code, not an error
    counts = [
        StatusCount("acme", "Invoices", 2, 5),
        StatusCount("acme", "Invoices", 0, 1),
        StatusCount("acme", "Empty", None, 0),
    ]
    grouped = by_status(counts, TaskStatus)
    assert grouped[("acme", "Invoices")]["Success"] == 5
    assert grouped[("acme", "Invoices")]["New"] == 1
    assert grouped[("acme", "Invoices")]["Abandoned"] == 0
    assert set(grouped[("acme", "Empty")].values()) == {0}
    assert len(grouped[("acme", "Empty")]) == len(TaskStatus)


def test_the_metrics_token() -> None:
    check_token(None, None)  # no token set: open
    secret = SecretStr("s3cret")
    check_token(secret, "Bearer s3cret")
    check_token(secret, "bearer  s3cret ")
    for header, reason in [
        (None, "metrics_token_required"),
        ("Basic s3cret", "metrics_token_required"),
        ("Bearer", "metrics_token_required"),
        ("Bearer wrong", "metrics_token_invalid"),
    ]:
        with pytest.raises(Unauthenticated) as refused:
            check_token(secret, header)
        assert refused.value.code == reason


def test_worker_pids_are_the_live_writers_of_the_folder(tmp_path: Path) -> None:
    me = os.getpid()
    for name in (f"counter_{me}.db", f"gauge_livesum_{me}.db", "histogram_999999999.db", "x.db"):
        (tmp_path / name).write_bytes(b"")
    assert worker_pids(tmp_path) == [me]


def test_a_multiprocess_folder_is_made_for_each_start_and_removed_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MULTIPROCESS_VARIABLE, raising=False)
    with multiprocess_folder() as folder:
        assert folder.is_dir() and os.environ[MULTIPROCESS_VARIABLE] == str(folder)
        (folder / "counter_1.db").write_bytes(b"")
    assert not folder.exists()
    assert MULTIPROCESS_VARIABLE not in os.environ


def test_a_given_multiprocess_folder_is_emptied_of_old_values_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MULTIPROCESS_VARIABLE, str(tmp_path))
    (tmp_path / "counter_1.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    with multiprocess_folder() as folder:
        assert folder == tmp_path
        assert not (tmp_path / "counter_1.db").exists()
    assert (tmp_path / "notes.txt").exists()
