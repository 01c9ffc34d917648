"""Which Python runs a job, and how the SDK reaches it.

A package without requirements runs on the agent's own interpreter. One with requirements gets
a virtual environment, built once per package SHA-256 in the (possibly shared) cache under a
cross-process lock, and marked ready only after pip succeeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import logging
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import robofleet
from robofleet.robot import platform
from robofleet.robot.files import atomic_write_bytes, dir_lock, remove_tree

log = logging.getLogger(__name__)

READY_MARKER = ".robofleet-ready"
BUILD_STALE_AFTER = 2 * 3600.0


class EnvironmentBuildError(Exception):
    """Creating the virtual environment or installing the requirements failed."""

    def __init__(self, message: str, output: list[str]) -> None:
        super().__init__(message)
        self.output = output


def python_for(
    cache_dir: Path,
    package_sha256: str,
    requirements: Path | None,
    *,
    kind: str = "python",
    on_output: Callable[[str], None] = lambda line: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Path:
    """The interpreter that runs the job; builds its environment first if needed."""
    if requirements is None:
        return Path(sys.executable)
    venv = cache_dir / "envs" / package_sha256.lower()
    python = platform.venv_python(venv)
    if (venv / READY_MARKER).is_file() and python.is_file():
        return python
    lock = venv.with_name(venv.name + ".lock")
    with dir_lock(lock, stale_after=BUILD_STALE_AFTER, wait=BUILD_STALE_AFTER, cancelled=cancelled):
        if (venv / READY_MARKER).is_file() and python.is_file():
            return python  # another agent built it while we waited
        remove_tree(venv)  # a build that crashed half-way
        log.info("building the environment %s", venv)
        _run([sys.executable, "-m", "venv", str(venv)], on_output, cancelled, "creating the venv")
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
        _run([*pip, "-r", str(requirements)], on_output, cancelled, "installing requirements")
        if kind == "robotframework" and not _imports(python, "robot"):
            # The suite needs Robot Framework even when the package's requirements omit it.
            version = _robot_version()
            spec = f"robotframework=={version}" if version else "robotframework"
            _run([*pip, spec], on_output, cancelled, "installing Robot Framework")
        atomic_write_bytes(venv / READY_MARKER, b"ok\n")
    return python


def _imports(python: Path, module: str) -> bool:
    probe = subprocess.run(
        [str(python), "-c", f"import {module}"], capture_output=True, check=False, timeout=120
    )
    return probe.returncode == 0


def _robot_version() -> str:
    try:
        return importlib.metadata.version("robotframework")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _run(
    command: list[str],
    on_output: Callable[[str], None],
    cancelled: Callable[[], bool],
    what: str,
) -> None:
    """Run a build step, streaming its output; raise EnvironmentBuildError if it fails."""
    output: list[str] = []
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PIP_NO_INPUT": "1"},
    )

    def pump() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            output.append(line)
            on_output(line)

    reader = threading.Thread(target=pump, name="env-build-output", daemon=True)
    reader.start()
    while True:
        try:
            code = proc.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if cancelled():
                platform.kill_tree(proc.pid)
                proc.wait()
                reader.join(timeout=5)
                raise EnvironmentBuildError(f"{what}: cancelled", output) from None
    reader.join(timeout=5)
    if code != 0:
        last = next((line for line in reversed(output) if line.strip()), "")
        raise EnvironmentBuildError(f"{what} failed (exit code {code}): {last}", output)


def sdk_path(cache_dir: Path) -> Path:
    """A folder holding only `robofleet/__init__.py`, `robofleet/contract.py` and
    `robofleet/calendars.py` (which the SDK imports) and `robofleet/sdk/`, to put first on a
    job's PYTHONPATH: the job imports the SDK without seeing the agent's other packages.
    Keyed by the content hash, so agents of different versions can share one cache."""
    source = Path(robofleet.__file__).parent
    files = [
        source / "__init__.py",
        source / "contract.py",
        source / "calendars.py",
        *sorted(
            p for p in (source / "sdk").rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ),
    ]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(source).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    target = cache_dir / "sdk" / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    for path in files:
        copy = temp / "robofleet" / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    try:
        temp.replace(target)  # a folder appears whole or not at all
    except OSError:
        if not target.is_dir():
            raise
    finally:
        with contextlib.suppress(OSError):
            remove_tree(temp)
    return target
