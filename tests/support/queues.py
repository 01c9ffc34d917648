"""Queue and task helpers over the public API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx


def make_queue(api: httpx.Client, name: str | None = None, **settings: object) -> str:
    name = name or f"q-{uuid.uuid4().hex[:8]}"
    response = api.post("/api/queue/create", json={"Name": name, **settings})
    assert response.status_code == 200, response.text
    return name


def add(api: httpx.Client, queue: str, name: str, **fields: object) -> dict[str, Any]:
    response = api.post("/api/task/create", json={"Queue": queue, "Name": name, **fields})
    assert response.status_code == 200, response.text
    return dict(response.json())


def take(api: httpx.Client, queue: str, count: int = 1, **fields: object) -> list[dict[str, Any]]:
    response = api.post("/api/task/take", json={"Queue": queue, "Count": count, **fields})
    assert response.status_code == 200, response.text
    return list(response.json()["tasks"])


def finish(
    api: httpx.Client, task: dict[str, Any], status: int = 2, **fields: object
) -> httpx.Response:
    return api.post(
        "/api/task/finish",
        json={"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": status, **fields},
    )


def read(api: httpx.Client, guid: str) -> dict[str, Any]:
    response = api.get(f"/api/task/read/{guid}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def eventually(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
