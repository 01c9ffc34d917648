"""File helpers for folders that several agents (processes) may share: atomic writes and a
cross-process lock that survives its holder crashing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        replace(Path(temp), path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, json.dumps(value, ensure_ascii=False).encode("utf-8"))


def replace(source: Path, target: Path, attempts: int = 20) -> None:
    """os.replace, retried briefly: on Windows it fails while another process has the target
    open (a reader, an antivirus scan)."""
    for attempt in range(attempts):
        try:
            source.replace(target)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)


def temp_path_beside(path: Path) -> Path:
    """A unique name in the same folder, so a later os.replace is atomic."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class LockTimeout(Exception):
    """Another process held the lock for longer than we were willing to wait."""


_OWNER = "owner.json"


@contextlib.contextmanager
def dir_lock(
    lock: Path,
    *,
    stale_after: float = 3600.0,
    wait: float = 3600.0,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[None]:
    """Hold `lock` (a directory: os.mkdir is atomic on every OS and file system) while the
    block runs. A lock whose owner process is gone, or older than `stale_after`, is broken."""
    deadline = time.monotonic() + wait
    lock.parent.mkdir(parents=True, exist_ok=True)
    announced = False
    while True:
        try:
            lock.mkdir()
            break
        except FileExistsError:
            if _is_stale(lock, stale_after):
                log.warning("breaking stale lock %s", lock)
                _break(lock)
                continue
            if cancelled():
                raise LockTimeout(f"gave up waiting for {lock}: cancelled") from None
            if time.monotonic() > deadline:
                raise LockTimeout(f"{lock} stayed locked for {wait:g}s") from None
            if not announced:
                log.info("waiting for %s (another agent is building it)", lock.parent)
                announced = True
            time.sleep(0.2)
    token = uuid.uuid4().hex
    owner = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _started(),
        "token": token,
    }
    try:
        atomic_write_json(lock / _OWNER, owner)
        yield
    finally:
        _release(lock, token)


def _is_stale(lock: Path, stale_after: float) -> bool:
    try:
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return False
    try:
        owner = json.loads((lock / _OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # Just created, owner not written yet; only age can tell.
        return age > max(stale_after, 60.0)
    if owner.get("host") == socket.gethostname() and not _owner_alive(owner):
        return True
    return age > stale_after


def _owner_alive(owner: dict[str, Any]) -> bool:
    pid, started = owner.get("pid"), owner.get("started")
    if not isinstance(pid, int) or pid <= 0:
        return True  # cannot tell: let age decide
    try:
        process = psutil.Process(pid)
        # A different start time: the pid was reused by another program.
        return not isinstance(started, float) or abs(process.create_time() - started) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def _started() -> float:
    try:
        return psutil.Process().create_time()
    except psutil.Error:
        return 0.0


def _break(lock: Path) -> None:
    # Rename first: two agents breaking the same lock must not delete a fresh one.
    grave = temp_path_beside(lock)
    try:
        lock.replace(grave)
    except OSError:
        return
    remove_tree(grave)


def _release(lock: Path, token: str) -> None:
    try:
        owner = json.loads((lock / _OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        owner = {}
    if owner.get("token") not in (None, token):
        return  # broken as stale and taken by someone else meanwhile
    _break(lock)
