"""Metrics settings and the status counts' cache, in-process."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

from robofleet.server.app import create_app
from robofleet.server.runtime.metrics.status_gauges import StatusGauges
from robofleet.server.settings import Settings
from robofleet.server.startup import prepare
from tests.service.conftest import ADMIN_KEY, SECRET_KEY, Service

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


def test_metrics_can_be_switched_off(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        api_key=ADMIN_KEY,
        admin_password="admin-password-for-tests",
        secret_key=SECRET_KEY,
        scheduler_enabled=False,
        metrics_enabled=False,
    )
    prepare(settings)
    app = create_app(settings)
    with TestClient(app, headers={"Key": ADMIN_KEY}) as client:
        assert client.get("/metrics").status_code == 404
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]
    assert app.state.runtime.metrics is None


def test_metrics_are_documented_apart_from_the_sherpa_tabs(service: Service) -> None:
    document = service.admin.get("/openapi.json").json()
    operation = document["paths"]["/metrics"]["get"]
    assert operation["tags"] == ["Monitoring"]
    assert "text/plain" in operation["responses"]["200"]["content"]
    assert "security" not in operation


def test_status_counts_are_kept_for_the_cache_time(service: Service) -> None:
    gauges = StatusGauges(service.runtime.db, cache_seconds=3600)
    first = gauges.snapshot()
    name = f"q-{uuid.uuid4().hex[:8]}"
    assert service.admin.post("/api/queue/create", json={"Name": name}).status_code == 200
    assert gauges.snapshot() is first  # not counted again
    fresh = StatusGauges(service.runtime.db, cache_seconds=0).snapshot()
    assert fresh is not None and name in {count.owner for count in fresh.tasks}
