"""Which Python runs a job: the agent's own, or a venv built once per package hash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from robofleet.robot.environments import (
    READY_MARKER,
    EnvironmentBuildError,
    python_for,
    sdk_path,
)

SHA = "a" * 64


def test_without_requirements_the_agent_python_runs_the_job(tmp_path: Path) -> None:
    assert python_for(tmp_path, SHA, None) == Path(sys.executable)
    assert not (tmp_path / "envs").exists()


def test_the_sdk_copy_holds_only_the_sdk_and_is_made_once(tmp_path: Path) -> None:
    first = sdk_path(tmp_path)
    assert first == sdk_path(tmp_path)
    assert sorted(p.name for p in (first / "robofleet").iterdir()) == [
        "__init__.py",
        "calendars.py",
        "contract.py",
        "sdk",
    ]
    assert (first / "robofleet" / "sdk" / "job.py").is_file()
    assert [p.name for p in (tmp_path / "sdk").iterdir()] == [first.name]  # no temp folders


def test_a_venv_is_built_once_and_does_not_see_the_agent_packages(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    output: list[str] = []
    python = python_for(tmp_path / "cache", SHA, requirements, on_output=output.append)
    venv = tmp_path / "cache" / "envs" / SHA
    assert python.is_file() and python.is_relative_to(venv)
    assert (venv / READY_MARKER).is_file()
    marker_time = (venv / READY_MARKER).stat().st_mtime_ns
    assert python_for(tmp_path / "cache", SHA, requirements) == python
    assert (venv / READY_MARKER).stat().st_mtime_ns == marker_time  # not rebuilt
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(sdk_path(tmp_path / "cache"))
    code = "import robofleet.sdk\ntry:\n import httpx\nexcept ImportError:\n print('isolated')"
    done = subprocess.run(
        [str(python), "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "isolated"


def test_a_failed_build_is_reported_with_pip_output_and_not_marked_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # fail fast, without the network
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("robofleet-no-such-package-anywhere==1.0\n")
    output: list[str] = []
    with pytest.raises(EnvironmentBuildError) as caught:
        python_for(tmp_path / "cache", SHA, requirements, on_output=output.append)
    assert "installing requirements failed" in str(caught.value)
    assert any("robofleet-no-such-package-anywhere" in line for line in caught.value.output)
    assert caught.value.output == output
    assert not (tmp_path / "cache" / "envs" / SHA / READY_MARKER).exists()
    assert not (tmp_path / "cache" / "envs" / f"{SHA}.lock").exists()
