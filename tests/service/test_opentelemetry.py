"""ROBOFLEET_OPENTELEMETRY: off by default, FastAPI emits no spans even where the process
has configured OpenTelemetry (and each request skips FastAPI's look for providers); on,
every request is traced through the configured provider, the lean front's answers too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.service.conftest import start
from tests.service.lean_paths import Paths
from tests.support.fleet import robot_auth

SPANS = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def _configured_provider() -> Iterator[None]:
    """What `opentelemetry-instrument` or an application's own setup does: a global provider
    (the API keeps the first one a process sets)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)
    yield
    provider.shutdown()


def _spans_of_two_calls(tmp_path: Path, **settings: bool) -> list[str]:
    """Span names of a robot creation (FastAPI's router) and a heartbeat (the lean front)."""
    service = start(tmp_path / "data", **settings)
    app = next(service)
    try:
        SPANS.clear()
        created = app.admin.post("/api/robot/create", json={"Name": "traced"})
        assert created.status_code == 200, created.text
        guid = created.json()["GUID"]
        paths = Paths(app)
        with app.client(**robot_auth(guid)) as robot:
            beat = robot.post("/api/robot/heartbeat", json={"RobotGUID": guid, "Status": 2})
        assert beat.status_code == 200, beat.text
        assert paths.answered() == "lean"
        paths.close()
        return [span.name for span in SPANS.get_finished_spans()]
    finally:
        service.close()


def test_no_spans_by_default(tmp_path: Path) -> None:
    assert _spans_of_two_calls(tmp_path) == []


def test_spans_for_every_request_when_enabled(tmp_path: Path) -> None:
    names = _spans_of_two_calls(tmp_path, opentelemetry=True)
    assert "POST /api/robot/create" in names, names
    # The lean front answered the heartbeat, and named its span as FastAPI would have.
    assert "POST /api/robot/heartbeat" in names, names
