"""A 2 GiB file up and down through a real server with the CLI: the SHA-256 survives, and
the server's memory stays far below the file's size (it streams, never holds the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.conftest import make_tenant
from tests.acceptance.test_cli import cli
from tests.support.big_files import PeakMemory, sha256_of, write_big_file
from tests.support.server import ServerProcess

SIZE = 2 * 1024**3
MEMORY_CEILING = 400 * 1024**2
"""Far below 2 GiB: a server that buffered the file, even once, would pass it."""


@pytest.mark.exclusive
@pytest.mark.timeout(1200)
def test_two_gib_up_and_down_with_the_cli(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    digest = write_big_file(source, SIZE)
    server = ServerProcess(data_dir=tmp_path / "data").start()
    try:
        tenant = make_tenant(server)
        assert server.process is not None
        with PeakMemory(server.process.pid) as upload_memory:
            put = cli(tenant, "storage", "put", str(source), "", timeout=900)
        assert put.returncode == 0, put.stderr
        assert digest in put.stdout
        row = tenant.api.get("/api/files/read/big.bin").json()
        assert row["size"] == SIZE and row["sha256"] == digest

        source.unlink()  # room on disk for the copy
        target = tmp_path / "back.bin"
        with PeakMemory(server.process.pid) as download_memory:
            got = cli(tenant, "storage", "get", "big.bin", str(target), timeout=900)
        assert got.returncode == 0, got.stderr
        assert target.stat().st_size == SIZE
        assert sha256_of(target) == digest
        assert upload_memory.peak < MEMORY_CEILING, upload_memory.peak
        assert download_memory.peak < MEMORY_CEILING, download_memory.peak
    finally:
        server.stop()
