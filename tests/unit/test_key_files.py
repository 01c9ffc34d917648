"""Key files in a data directory several nodes share: processes starting together agree on
one key, and nobody reads a half-written file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from robofleet.server.runtime.security import load_or_create_secret
from robofleet.server.runtime.vault_key import VaultKey


def together(count: int, make: Callable[[], object]) -> list[object]:
    made: list[object] = []
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        made.append(make())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return made


def test_nodes_starting_together_share_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    secrets = together(8, lambda: load_or_create_secret(path))
    assert len(set(secrets)) == 1 and secrets[0] == path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # nothing left aside


def test_nodes_starting_together_share_one_vault_key(tmp_path: Path) -> None:
    path = tmp_path / "robocorp-vault-key.pem"
    keys = together(4, lambda: VaultKey(path).private_key().private_numbers().d)
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["robocorp-vault-key.pem"]
