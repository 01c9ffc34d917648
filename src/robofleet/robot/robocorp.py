"""Running a Robocorp robot (package kind `robocorp`) the way a Control Room worker with rcc
would: the task robot.yaml names, the pip part of its environment file in the agent's cached
venv (conda has no place here: what only conda could provide is a warning on the job), and
the RC_* variables that point the unmodified Robocorp libraries at this server with the job's
own token (robocorp-api-subset.md sections 2 and 10)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robofleet.contract import ROBOCORP_API_PATH, ROBOCORP_JOB_KEY, LogLevel, RobocorpField
from robofleet.packaging import ROBOT_YAML
from robofleet.robocorp_robot import (
    RobotEnvironment,
    RobotYaml,
    RobotYamlError,
    parse_environment,
    parse_robot_yaml,
)
from robofleet.robot import platform
from robofleet.robot.files import atomic_write_bytes

Log = Callable[..., None]


class RobotDefinitionError(Exception):
    """robot.yaml or its environment file cannot be run."""


@dataclass(frozen=True)
class RobocorpSetup:
    """How to start the chosen task, read from robot.yaml at preparation."""

    task: str
    argv: tuple[str, ...]
    artifacts_dir: str
    path: tuple[str, ...] = ()
    pythonpath: tuple[str, ...] = ()
    runs_robot_framework: bool = False
    """A `robotTaskName` task: its output.xml in the artifacts folder becomes log lines."""


@dataclass(frozen=True)
class Prepared:
    setup: RobocorpSetup
    requirements: Path | None
    """The pip list written as a requirements file; None when there is nothing to install."""


def prepare_robot(
    job_dir: Path, task_name: str, cache_dir: Path, package_sha256: str, log: Log
) -> Prepared:
    """Read robot.yaml in the laid-out package, choose the task, and turn the environment
    file into a requirements file for the package's venv. Warnings go to the job's log."""
    robot = _robot(job_dir)
    try:
        task = robot.task(task_name)
    except RobotYamlError as exc:
        raise RobotDefinitionError(str(exc)) from None
    if robot.not_honoured:
        log(
            LogLevel.WARNING,
            f"robot.yaml: {', '.join(robot.not_honoured)} not run by the Robofleet agent",
        )
    setup = RobocorpSetup(
        task=task.name,
        argv=tuple(task.argv(robot.artifacts_dir, posix=platform.posix_command_line())),
        artifacts_dir=robot.artifacts_dir,
        path=robot.path,
        pythonpath=robot.pythonpath,
        runs_robot_framework=bool(task.robot_task_name),
    )
    (job_dir / robot.artifacts_dir).mkdir(parents=True, exist_ok=True)
    env_file = robot.environment_file(lambda name: (job_dir / name).is_file())
    if not env_file:
        log(LogLevel.INFO, "robot.yaml names no environment file: the task runs as it is")
        return Prepared(setup, None)
    try:
        environment = parse_environment((job_dir / env_file).read_bytes(), env_file)
    except RobotYamlError as exc:
        raise RobotDefinitionError(str(exc)) from None
    for level, message in environment_notes(environment, env_file):
        log(level, message)
    if not environment.pip:
        return Prepared(setup, None)
    # Beside the venv it feeds, keyed like it by the package: same bytes, same file.
    requirements = cache_dir / "envs" / f"{package_sha256.lower()}.requirements.txt"
    requirements.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(requirements, environment.requirements_text().encode())
    log(LogLevel.INFO, f"{env_file}: installing {len(environment.pip)} pip requirement(s)")
    return Prepared(setup, requirements)


def _robot(job_dir: Path) -> RobotYaml:
    try:
        return parse_robot_yaml((job_dir / ROBOT_YAML).read_bytes())
    except RobotYamlError as exc:
        raise RobotDefinitionError(str(exc)) from None


def environment_notes(
    environment: RobotEnvironment, file_name: str, running: tuple[int, int] | None = None
) -> list[tuple[str, str]]:
    """What the job's log says about the parts of an environment file a venv cannot honour."""
    major, minor = running or sys.version_info[:2]
    notes: list[tuple[str, str]] = []
    if environment.python:
        pinned = environment.python.split(".")[:2]
        if pinned != [str(major), str(minor)]:
            notes.append(
                (
                    LogLevel.WARNING,
                    f"{file_name} asks for python {environment.python}; without conda the job "
                    f"runs on the agent's Python {major}.{minor}",
                )
            )
    if environment.conda_only:
        notes.append(
            (
                LogLevel.WARNING,
                f"{file_name}: conda-only dependencies not installed (no conda on the agent): "
                + ", ".join(environment.conda_only),
            )
        )
    if environment.not_honoured:
        notes.append(
            (
                LogLevel.WARNING,
                f"{file_name}: {', '.join(environment.not_honoured)} not run by the agent",
            )
        )
    return notes


def run_context(job: Mapping[str, Any]) -> dict[str, str] | None:
    """The job's `Robocorp` object (ids and token), or None when the server sent none."""
    value = job.get(ROBOCORP_JOB_KEY)
    if not isinstance(value, dict):
        return None
    return {field: str(value.get(field) or "") for field in RobocorpField}


def robocorp_variables(
    setup: RobocorpSetup, job_dir: Path, server: str, context: Mapping[str, str] | None
) -> dict[str, str]:
    """ROBOT_ROOT and ROBOT_ARTIFACTS as rcc sets them, and the RC_* variables that make the
    libraries choose their HTTP adapters and reach this server (all with the job's token)."""
    variables = {
        "ROBOT_ROOT": str(job_dir),
        "ROBOT_ARTIFACTS": str(job_dir / setup.artifacts_dir),
    }
    if context is None:
        return variables
    api = server.rstrip("/") + ROBOCORP_API_PATH
    token = context[RobocorpField.TOKEN]
    variables.update(
        {
            "RC_WORKSPACE_ID": context[RobocorpField.WORKSPACE_ID],
            "RC_PROCESS_ID": context[RobocorpField.PROCESS_ID],
            "RC_PROCESS_RUN_ID": context[RobocorpField.PROCESS_RUN_ID],
            "RC_ACTIVITY_RUN_ID": context[RobocorpField.ACTIVITY_RUN_ID],
            "RC_WORKITEM_ID": context[RobocorpField.WORK_ITEM_ID],
            "RC_API_WORKITEM_HOST": api,
            "RC_API_WORKITEM_TOKEN": token,
            "RC_API_PROCESS_HOST": api,
            "RC_API_PROCESS_TOKEN": token,
            "RC_API_SECRET_HOST": api,
            "RC_API_SECRET_TOKEN": token,
            "RC_API_URL_V1": api + "/v1",
            "RC_API_TOKEN_V1": token,
        }
    )
    return variables


def prefixed(entries: tuple[str, ...], job_dir: Path, *rest: str) -> str:
    """A search path as rcc builds it: robot.yaml's entries resolved against the robot's
    root first, then the rest."""
    parts = [str((job_dir / entry).resolve()) for entry in entries]
    return os.pathsep.join(part for part in (*parts, *rest) if part)
