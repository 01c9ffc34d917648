"""Counts and times every HTTP request by operation (robofleet_http_requests_total,
robofleet_http_request_duration_seconds): a pure ASGI middleware, cheap enough for the robot
calls that arrive thousands of times a second (one dict lookup per request for its series).

The operation label is, in this order: what an earlier layer put in
`scope["robofleet.operation"]` (the lean front for hot routes names the operation it
answered), the operation id of the FastAPI route matched (`scope["route"]`, named by
api.openapi.operation_id: `Task-take`), the path template of another matched route (/docs),
else "unmatched" — so unknown paths add no new series, and neither do odd methods ("other")."""

from __future__ import annotations

import time
from typing import Any

from fastapi.routing import APIRoute
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from robofleet.server.api.openapi import operation_id
from robofleet.server.runtime.metrics.families import REQUEST_SECONDS, REQUESTS

OPERATION_KEY = "robofleet.operation"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(route: Any) -> str:
    if isinstance(route, APIRoute):
        # `<Tag>-<handler>` (api.openapi.operation_id), as the lean front names what it
        # answers: one operation counts under one name whichever layer answered it.
        return operation_id(route)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


class RequestSeries:
    """The two series of each (operation, method, status), looked up once each: the lean
    front, answering before this middleware, records through one of its own."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record(self, operation: str, method: str, status: int, seconds: float) -> None:
        key = (operation, method_label(method), status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                REQUESTS.labels(key[0], key[1], str(status)),
                REQUEST_SECONDS.labels(key[0], key[1]),
            )
        series[0].inc()
        series[1].observe(seconds)


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route_labels: dict[int, str] = {}
        self._series = RequestSeries()

    def operation_of(self, scope: Scope) -> str:
        named = scope.get(OPERATION_KEY)
        if named:
            return str(named)
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        # Routes live as long as the app: their labels are worked out once.
        label = self._route_labels.get(id(route))
        if label is None:
            label = self._route_labels[id(route)] = route_label(route)
        return label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before it responds

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self._series.record(
                self.operation_of(scope), scope["method"], status, time.perf_counter() - started
            )
