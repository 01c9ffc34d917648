"""Fixtures: one real server process per store (SQLite and PostgreSQL) for the session,
and a fresh account (tenant) per test so tests never see each other's objects."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import pg
from tests.support.server import ServerProcess

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def pg_url_factory() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for url in made:
        pg.drop_database(url)


def database_url(backend: str, made: list[str]) -> str | None:
    if backend == "sqlite":
        return None
    url = pg.create_database()
    made.append(url)
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_url_factory: list[str],
) -> Iterator[ServerProcess]:
    backend: str = request.param
    proc = ServerProcess(
        data_dir=tmp_path_factory.mktemp(f"server-{backend}"),
        database_url=database_url(backend, pg_url_factory),
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
def fresh_server(
    tmp_path: Path, pg_url_factory: list[str], request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """A server of its own (for restarts and kills); the backend comes from `backend`."""
    backend = getattr(request, "param", "sqlite")
    proc = ServerProcess(
        data_dir=tmp_path / "data", database_url=database_url(backend, pg_url_factory)
    )
    yield proc
    proc.kill()


@dataclass
class Tenant:
    server: ServerProcess
    guid: str
    key: str
    login: str
    password: str
    api: httpx.Client

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=30)


def make_tenant(server: ServerProcess, *, can_create_accounts: bool = False) -> Tenant:
    login = f"t-{uuid.uuid4().hex[:10]}"
    password = "tenant-password-1"
    with server.client() as admin:
        response = admin.post(
            "/api/account/create",
            json={
                "Login": login,
                "Password": password,
                "CanCreateAccounts": can_create_accounts,
            },
        )
    assert response.status_code == 200, response.text
    body = response.json()
    return Tenant(
        server, body["guid"], body["api_key"], login, password, server.client(body["api_key"])
    )


@pytest.fixture
def tenant(server: ServerProcess) -> Iterator[Tenant]:
    made = make_tenant(server)
    yield made
    made.api.close()


@pytest.fixture
def other_tenant(server: ServerProcess) -> Iterator[Tenant]:
    made = make_tenant(server)
    yield made
    made.api.close()
