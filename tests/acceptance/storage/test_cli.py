"""`robofleet storage put|get|ls|rm` against a real server on every blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.acceptance.conftest import Tenant
from tests.acceptance.test_cli import cli


def test_put_get_ls_rm(tenant: Tenant, tmp_path: Path) -> None:
    tenant.api.post("/api/folders/create", json={"Name": "Exports"})
    local = tmp_path / "report 2026.csv"
    content = b"id,amount\n" + b"1,2\n" * 300_000  # a few MiB: several blocks
    local.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()

    put = cli(tenant, "storage", "put", str(local), "Exports")
    assert put.returncode == 0, put.stderr
    assert digest in put.stdout and "Exports/report 2026.csv" in put.stdout
    renamed = cli(tenant, "storage", "put", str(local), "", "--name", "root.csv")
    assert renamed.returncode == 0, renamed.stderr

    listed = cli(tenant, "storage", "ls", "Exports")
    assert listed.returncode == 0, listed.stderr
    assert "Exports/report 2026.csv" in listed.stdout and "root.csv" not in listed.stdout
    everything = cli(tenant, "storage", "ls")
    assert "root.csv" in everything.stdout and "Exports/" in everything.stdout

    target = tmp_path / "back.csv"
    got = cli(tenant, "storage", "get", "Exports/report 2026.csv", str(target))
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest
    assert digest in got.stdout

    removed = cli(tenant, "storage", "rm", "Exports/report 2026.csv")
    assert removed.returncode == 0, removed.stderr
    missing = cli(tenant, "storage", "get", "Exports/report 2026.csv", str(tmp_path / "x"))
    assert missing.returncode == 1
    assert "404" in missing.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.part").exists()
