"""A robocorp job's command line and environment: the RC_* variables from the job document's
`Robocorp` object (every token the job's), ROBOT_ROOT / ROBOT_ARTIFACTS, robot.yaml's PATH and
PYTHONPATH first as rcc puts them, the ROBOFLEET_* variables kept; and what the job's log says
about the parts of an environment file a venv cannot honour."""

from __future__ import annotations

import os
from pathlib import Path

from robofleet.contract import JobEnv, LogLevel
from robofleet.robocorp_robot import RobotEnvironment
from robofleet.robot.robocorp import RobocorpSetup, environment_notes, run_context
from robofleet.robot.runner import JobSpec, build_command, build_env

JOB_DOC = {
    "GUID": "job-1",
    "Robocorp": {
        "Token": "tok-123",
        "WorkspaceId": "ws-1",
        "ProcessId": "proc-1",
        "ProcessRunId": "run-1",
        "ActivityRunId": "step-1",
        "WorkItemId": "",
    },
}


def spec(tmp_path: Path, *, context: bool = True) -> JobSpec:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return JobSpec(
        job_guid="job-1",
        process_version_guid="ver-1",
        kind="robocorp",
        entry_point="",
        python=python,
        job_dir=tmp_path / "job",
        control_dir=tmp_path / "control",
        server="http://server:8000/",
        robot_guid="robot-1",
        sdk_path=tmp_path / "sdk",
        robocorp=RobocorpSetup(
            task="Main",
            argv=("python", "-m", "robocorp.tasks", "run", "tasks.py"),
            artifacts_dir="output",
            path=("bin",),
            pythonpath=(".", "libs"),
        ),
        robocorp_run=run_context(JOB_DOC) if context else None,
    )


def test_the_job_gets_the_rc_variables_with_its_token(tmp_path: Path) -> None:
    env = build_env(spec(tmp_path), base={"PATH": "/usr/bin", "PYTHONPATH": "/extra"})
    api = "http://server:8000/robocorp"
    assert env["RC_WORKSPACE_ID"] == "ws-1"
    assert env["RC_PROCESS_ID"] == "proc-1"
    assert env["RC_PROCESS_RUN_ID"] == "run-1"
    assert env["RC_ACTIVITY_RUN_ID"] == "step-1"
    assert env["RC_WORKITEM_ID"] == ""  # defined, empty: the library reserves through the API
    for family in ("WORKITEM", "PROCESS", "SECRET"):
        assert env[f"RC_API_{family}_HOST"] == api
        assert env[f"RC_API_{family}_TOKEN"] == "tok-123"
    assert env["RC_API_URL_V1"] == api + "/v1"
    assert env["RC_API_TOKEN_V1"] == "tok-123"
    root = (tmp_path / "job").resolve()
    assert env["ROBOT_ROOT"] == str(root)
    assert env["ROBOT_ARTIFACTS"] == str(root / "output")
    assert env[JobEnv.JOB_GUID] == "job-1"  # Robofleet's own variables stay
    assert env[JobEnv.SERVER] == "http://server:8000/"


def test_robot_yaml_paths_come_first(tmp_path: Path) -> None:
    made = spec(tmp_path)
    env = build_env(made, base={"PATH": "/usr/bin", "PYTHONPATH": "/extra"})
    root = (tmp_path / "job").resolve()
    assert env["PATH"].split(os.pathsep) == [
        str(root / "bin"),
        str(made.python.parent),
        "/usr/bin",
    ]
    assert env["PYTHONPATH"].split(os.pathsep) == [
        str(root),
        str(root / "libs"),
        str(tmp_path / "sdk"),
        "/extra",
    ]


def test_without_a_run_context_only_rccs_folders_are_set(tmp_path: Path) -> None:
    env = build_env(spec(tmp_path, context=False), base={"PATH": "/usr/bin"})
    assert "ROBOT_ROOT" in env
    assert not [name for name in env if name.startswith("RC_")]
    assert run_context({"GUID": "x"}) is None


def test_python_in_the_task_is_the_jobs_interpreter(tmp_path: Path) -> None:
    made = spec(tmp_path)
    command = build_command(made, build_env(made, base={"PATH": "/usr/bin"})["PATH"])
    assert command == [str(made.python), "-m", "robocorp.tasks", "run", "tasks.py"]


def test_a_foreign_python_pin_and_conda_packages_are_warnings() -> None:
    env = RobotEnvironment(pip=("robocorp",), python="3.10.12", conda_only=("nodejs=18",))
    notes = environment_notes(env, "conda.yaml", running=(3, 11))
    assert [level for level, _ in notes] == [LogLevel.WARNING, LogLevel.WARNING]
    assert "asks for python 3.10.12" in notes[0][1] and "Python 3.11" in notes[0][1]
    assert "conda-only dependencies not installed" in notes[1][1] and "nodejs=18" in notes[1][1]
    assert environment_notes(RobotEnvironment(python="3.11.7"), "c.yaml", running=(3, 11)) == []
