"""The storage tests run against every blob store: the local folder on SQLite and on
PostgreSQL, and S3 (a real moto server on 127.0.0.1) on PostgreSQL. `server` is overridden
here, so the shared `tenant` fixture makes its accounts on these servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.acceptance.conftest import database_url
from tests.support.s3 import MotoServer
from tests.support.server import ServerProcess

STORES = [("sqlite", "local"), ("postgres", "local"), ("postgres", "s3")]


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=STORES, ids=[f"{db}-{store}" for db, store in STORES])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_url_factory: list[str],
) -> Iterator[ServerProcess]:
    backend, store = request.param
    env = request.getfixturevalue("moto").server_env() if store == "s3" else {}
    proc = ServerProcess(
        data_dir=tmp_path_factory.mktemp(f"storage-{backend}-{store}"),
        database_url=database_url(backend, pg_url_factory),
        env=env,
    ).start()
    yield proc
    proc.stop()
