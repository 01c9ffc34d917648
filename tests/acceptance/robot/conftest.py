"""Helpers for the agent's tests: real child processes, a sink that collects log lines."""

from __future__ import annotations

import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from robofleet.robot.environments import sdk_path
from robofleet.robot.logship import LogLine
from robofleet.robot.runner import JobSpec


class Collector:
    """A log sink that remembers every line (called from the runner's threads)."""

    def __init__(self) -> None:
        self.lines: list[LogLine] = []
        self._lock = threading.Lock()

    def __call__(self, line: LogLine) -> None:
        with self._lock:
            self.lines.append(line)

    def messages(self, level: str | None = None) -> list[str]:
        with self._lock:
            return [line.message for line in self.lines if level in (None, line.level)]

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages():
                if predicate(message):
                    return message
            time.sleep(0.02)
        raise AssertionError(f"no such line within {timeout}s; got {self.messages()}")


def gone(pid: int) -> bool:
    """Dead: no such process, or a zombie that nobody reaped yet (it runs nothing)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="session")
def sdk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sdk_path(tmp_path_factory.mktemp("sdk-cache"))


@pytest.fixture
def make_spec(tmp_path: Path, sdk_dir: Path) -> Callable[..., JobSpec]:
    def make(script: str | None = None, **fields: Any) -> JobSpec:
        job_dir = tmp_path / "jobs" / uuid.uuid4().hex
        job_dir.mkdir(parents=True)
        if script is not None:
            (job_dir / "main.py").write_text(textwrap.dedent(script), encoding="utf-8")
        values: dict[str, Any] = {
            "job_guid": str(uuid.uuid4()),
            "process_version_guid": str(uuid.uuid4()),
            "kind": "python",
            "entry_point": "main.py",
            "python": Path(sys.executable),
            "job_dir": job_dir,
            "control_dir": tmp_path / "control" / job_dir.name,
            "server": "http://127.0.0.1:9",
            "robot_guid": str(uuid.uuid4()),
            "sdk_path": sdk_dir,
            "stop_grace": 30.0,
        }
        values.update(fields)
        return JobSpec(**values)

    return make
