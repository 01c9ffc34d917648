"""Credential passwords at rest: no password in clear in the SQLite file (and its WAL) or in
a pg_dump, audit trail included; key rotation with the CLI, as a separate process, while a
robot keeps reading every secret through the running server; interrupted, it resumes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import BACKENDS, Tenant, make_tenant
from tests.support.fleet import make_robot, robot_auth
from tests.support.resources import create_resource, ok
from tests.support.server import SECRET_KEY, ServerProcess


def stored_bytes(server: ServerProcess) -> bytes:
    """Everything the store holds: the SQLite file, its WAL and shared memory, or a dump."""
    if server.database_url is None:
        files = sorted(server.data_dir.glob("robofleet.db*"))
        assert any(f.name.endswith("-wal") for f in files), files
        return b"".join(f.read_bytes() for f in files)
    dsn = server.database_url.replace("postgresql+psycopg://", "postgresql://")
    dump = subprocess.run(["pg_dump", dsn], capture_output=True, check=True, timeout=120)
    return dump.stdout


def _credentials(tenant: Tenant, count: int, robot: str | None = None) -> dict[str, str]:
    made = {}
    for number in range(count):
        password = f"Pw-{uuid.uuid4().hex}-{number}"
        extra = {"RobotId": robot} if robot and number % 2 else {}
        guid = create_resource(
            tenant.api, f"cred-{uuid.uuid4().hex[:8]}", Type=1, Text="u", Password=password, **extra
        )
        made[guid] = password
    return made


def test_no_password_in_clear_in_the_store(tenant: Tenant) -> None:
    made = _credentials(tenant, 5)
    guid = next(iter(made))
    changed = f"Changed-{uuid.uuid4().hex}"
    ok(tenant.api.put("/api/asset/update", json={"Guid": guid, "Password": changed}))
    ok(tenant.api.get("/api/audit/list"))
    data = stored_bytes(tenant.server)
    leaks = [p for p in [*made.values(), changed] if p.encode() in data]
    assert leaks == []
    assert guid.encode() in data  # the scan does see the rows


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOFLEET_")}
    env.update({"ROBOFLEET_SECRET_KEY": SECRET_KEY, "ROBOFLEET_DATA_DIR": str(server.data_dir)})
    if server.database_url:
        env["ROBOFLEET_DATABASE_URL"] = server.database_url
    return subprocess.run(
        [sys.executable, "-m", "robofleet", "secrets", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


class Reader(threading.Thread):
    """A robot reading every secret it may, round and round, until told to stop."""

    def __init__(self, server: ServerProcess, robot: str, expected: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=server.url, headers=robot_auth(robot), timeout=30)
        self.expected = expected
        self.reads = 0
        self.failures: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        with self.client:
            while not self.done.is_set():
                for guid, password in self.expected.items():
                    response = self.client.get(f"/api/asset/read/{guid}")
                    self.reads += 1
                    if response.status_code != 200 or response.json()["password"] != password:
                        self.failures.append(f"{guid}: {response.status_code} {response.text}")
                # A robot's pace, not a spin: a busy loop would only starve the rotation of CPU.
                self.done.wait(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("fresh_server", BACKENDS, indirect=True)
def test_rotation_while_a_robot_reads(fresh_server: ServerProcess, tmp_path: Path) -> None:
    server = fresh_server.start()
    tenant = make_tenant(server)
    robot = make_robot(tenant.api)
    made = _credentials(tenant, 60, robot=robot)
    before = stored_bytes(server)

    reader = Reader(server, robot, made)
    reader.start()
    try:
        stopped = _cli(server, "rotate", "--batch-size", "5", "--max-batches", "3")
        assert stopped.returncode == 0, stopped.stderr
        assert "run `robofleet secrets rotate` again" in stopped.stdout
        assert "retiring: 1" in _cli(server, "status").stdout
        resumed = _cli(server, "rotate", "--batch-size", "5")
        assert resumed.returncode == 0, resumed.stderr
        reads_during = reader.reads
    finally:
        reader.done.set()
        reader.join(timeout=60)
    assert "rotation resumed" in resumed.stdout and "1 old data key(s) retired" in resumed.stdout
    assert reader.failures == [] and reads_during > len(made)
    status = _cli(server, "status").stdout
    assert "active: 1" in status and "retiring: 0" in status and "retired: 1" in status

    # Every ciphertext changed; still no password in clear; all readable by a user too.
    after = stored_bytes(server)
    assert [p for p in made.values() if p.encode() in after] == []
    assert before != after
    for guid, password in made.items():
        assert ok(tenant.api.get(f"/api/asset/read/{guid}"))["password"] == password
    # A second rotation starts afresh and also finishes.
    again = _cli(server, "rotate")
    assert again.returncode == 0 and "rotation started" in again.stdout, again.stderr
    server.stop()
    assert [p for p in made.values() if p in server.output()] == []
