"""A request the database layer could not serve answers 503 `database_unavailable` (retry),
and its message tells a pool that stayed busy (an overloaded server) from a database that
could not be reached."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from robofleet.server.api.errors import install_error_handlers
from robofleet.server.db.connection_slots import SlotTimeout


def _client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/busy")
    def busy() -> None:
        raise OperationalError(None, None, SlotTimeout("no connection was free in time"))

    @app.get("/down")
    def down() -> None:
        raise OperationalError(None, None, ConnectionRefusedError("connection refused"))

    return TestClient(app, raise_server_exceptions=False)


def test_a_busy_pool_and_an_unreachable_database_are_told_apart() -> None:
    client = _client()
    busy, down = client.get("/busy"), client.get("/down")
    assert busy.status_code == down.status_code == 503
    assert busy.json()["code"] == down.json()["code"] == "database_unavailable"
    assert busy.json()["message"].startswith("no database connection was free in time")
    assert "overloaded" in busy.json()["message"]
    assert down.json()["message"] == "the database could not be reached; retry the request"
    assert busy.json()["path"] == "/busy"
