"""The application in-process: `create_app(settings)` on a temporary SQLite file, prepared the
way `robofleet server` prepares it (schema upgrade, first account), driven through Starlette's
TestClient with the lifespan running. The scheduler thread is off: tests that need time to
pass run its duties themselves with a chosen `now` (see `Service.run_duties`)."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

from robofleet.server.app import create_app
from robofleet.server.db.tables import RobotRow
from robofleet.server.scheduler.loop import default_duties
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.principals import robot_principal
from robofleet.server.settings import Settings
from robofleet.server.startup import prepare
from tests.support import pg

with warnings.catch_warnings():
    # Starlette would rather drive its TestClient with httpx2; httpx, the project's own
    # client (and what tests/support's helpers take), still works with it.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ADMIN_KEY = str(uuid.uuid4())
SECRET_KEY = "service-tier-signing-secret-" + "0123456789abcdef" * 4


@dataclass
class Service:
    app: FastAPI
    admin: TestClient
    """The first account's API key, as `ROBOFLEET_API_KEY` would set it."""

    def client(self, **headers: str) -> TestClient:
        """Another caller of the same running app (shares the lifespan's event loop)."""
        client = _Caller(self.app, headers=headers)
        client.portal = self.admin.portal
        return client

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def run_duties(self, now: datetime) -> None:
        """One scheduler pass (overdue tasks, postponed, leases, abandon, liveness) at `now`."""
        for duty in default_duties():
            for owner in duty.owners(self.runtime, now):
                duty.run(self.runtime, now, owner)


class _Caller(TestClient):
    """A TestClient on an app whose lifespan already runs: `with` only closes it. TestClient's
    own `with` would run the app's startup again on a loop of its own and, at its end, the
    shutdown, which closes what the app runs on (PostgreSQL's driver pool among them): every
    later test of the module would then run without it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


def start(
    data_dir: Path, database_url: str | None = None, **settings_given: Any
) -> Iterator[Service]:
    """The app on a SQLite file in `data_dir`, or on the PostgreSQL database given; other
    settings as given."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        api_key=ADMIN_KEY,
        admin_password="admin-password-for-tests",
        secret_key=SECRET_KEY,
        scheduler_enabled=False,
        # Every test makes an account (one password hash each): OWASP's argon2id minimum
        # costs a seventh of the default's CPU. tests/service/test_password_hashing.py
        # checks the default.
        password_hashing="owasp",
        **settings_given,
    )
    prepare(settings)
    app = create_app(settings)
    # Many tests check which path answered (lean or session); a cached queue's rules live
    # 2.5-5 s, and a busy machine must not age them out between a test's add and its take.
    app.state.runtime.queues.ttl_seconds = 600.0
    with TestClient(app, headers={"Key": ADMIN_KEY}) as admin:
        yield Service(app, admin)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One app for the session; each test works in an account of its own (`tenant`)."""
    yield from start(tmp_path_factory.mktemp("service"))


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[Service]:
    """An app of its own, for tests that move the clock for every task in the database."""
    yield from start(tmp_path / "data")


@dataclass
class Tenant:
    service: Service
    guid: str
    key: str
    api: TestClient

    def client(self, **headers: str) -> TestClient:
        return self.service.client(**headers)


def make_tenant(service: Service, *, can_create_accounts: bool = False) -> Tenant:
    response = service.admin.post(
        "/api/account/create",
        json={
            "Login": f"t-{uuid.uuid4().hex[:10]}",
            "Password": "tenant-password-1",
            "CanCreateAccounts": can_create_accounts,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Tenant(service, body["guid"], body["api_key"], service.client(Key=body["api_key"]))


@pytest.fixture
def tenant(service: Service) -> Tenant:
    return make_tenant(service)


@pytest.fixture
def other_tenant(service: Service) -> Tenant:
    return make_tenant(service)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """An app per module on each store: SQLite, and a throw-away PostgreSQL database."""
    url = pg.create_database() if request.param == "postgres" else None
    try:
        yield from start(tmp_path_factory.mktemp(f"store-{request.param}"), url)
    finally:
        if url:
            pg.drop_database(url)


@pytest.fixture
def store_tenant(store_service: Service) -> Tenant:
    """An account of its own on each store's app."""
    return make_tenant(store_service)


@pytest.fixture
def paths(store_service: Service) -> Iterator[Any]:
    """Which path answered (tests.service.lean_paths.Paths) on each store's app; the harness
    keeps cached queues long enough for a lean path to find them."""
    from tests.service.lean_paths import Paths  # it imports this module

    counter = Paths(store_service)
    yield counter
    counter.close()


def robot_caller(service: Service, guid: str) -> Caller:
    """The robot `guid` as a caller of the services, as its credentials make it."""
    with service.runtime.db.read() as session:
        row = session.scalar(select(RobotRow).where(RobotRow.guid == guid))
        assert row is not None
        return Caller(robot_principal(session, row, with_secret=True))


@pytest.fixture
def pg_service(tmp_path: Path) -> Iterator[Service]:
    """An app of its own on a throw-away PostgreSQL database (the plan tests fill tables)."""
    url = pg.create_database("robofleet_plans")
    try:
        yield from start(tmp_path / "data", url)
    finally:
        pg.drop_database(url)
