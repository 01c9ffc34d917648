"""Atomic writes and the cross-process lock of the shared cache."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from robofleet.robot.files import LockTimeout, atomic_write_json, dir_lock


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "a" / "x.json", {"n": 1})
    atomic_write_json(tmp_path / "a" / "x.json", {"n": 2})
    assert json.loads((tmp_path / "a" / "x.json").read_text()) == {"n": 2}
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.json"]


def test_the_lock_excludes_others_until_released(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with dir_lock(lock):
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(5)
    with pytest.raises(LockTimeout), dir_lock(lock, wait=0.3):
        pass
    release.set()
    holder.join()
    started = time.monotonic()
    with dir_lock(lock, wait=1):
        assert time.monotonic() - started < 1
    assert not lock.exists()


def test_a_lock_whose_owner_died_is_broken(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = tmp_path / "build.lock"
    lock.mkdir()
    owner = {"host": __import__("socket").gethostname(), "pid": dead.pid, "token": "t"}
    (lock / "owner.json").write_text(json.dumps(owner))
    with dir_lock(lock, wait=2):
        assert json.loads((lock / "owner.json").read_text())["token"] != "t"
