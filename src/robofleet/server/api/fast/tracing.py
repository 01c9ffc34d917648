"""The lean front's answers named in the request's OpenTelemetry span as FastAPI names its
routes' (`POST /api/robot/heartbeat`, attribute `http.route`), when ROBOFLEET_OPENTELEMETRY
is on: FastAPI names a span after the route it matched, and the front matches its own."""

from __future__ import annotations

from opentelemetry import trace


def name_current_span(method: str, route: str) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("http.route", route)
        span.update_name(f"{method} {route}")
