"""Robocorp robots as rcc reads them: `robot.yaml` (its tasks, artifacts folder, environment
files, PATH and PYTHONPATH) and the environment file it names (`conda.yaml` or
`package.yaml`). Shared by the server (which checks an upload) and the agent (which runs it);
pure: bytes in, facts out. See /work/shared/reference/robocorp-api-subset.md section 10.
"""

from __future__ import annotations

import platform as _platform
import re
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import yaml

ROBOT_YAML = "robot.yaml"
PIP_TOOLS = frozenset({"pip", "uv"})
"""Conda entries that only install the pip list: the agent's venv has pip, so no warning."""
NOT_HONOURED = ("preRunScripts",)
"""robot.yaml keys rcc would act on in a run and the agent does not (a Warning on the job).
`devTasks` (developer mode only) and `ignoreFiles` (for wrapping the zip) are not run by a
Control Room worker either: read past in silence."""


class RobotYamlError(ValueError):
    """robot.yaml (or its environment file) does not say how to run the robot."""


class TaskNotNamed(RobotYamlError):
    """No task was named and robot.yaml has several."""


@dataclass(frozen=True)
class RobotTask:
    """One task of robot.yaml: exactly one of a shell line, an argv list or a Robot
    Framework task name."""

    name: str
    shell: str = ""
    command: tuple[str, ...] = ()
    robot_task_name: str = ""

    def argv(self, artifacts_dir: str, *, posix: bool = True) -> list[str]:
        """The command line rcc would run (with cwd = the robot's root)."""
        if self.command:
            return list(self.command)
        if self.shell:
            # rcc splits the line itself and uses no shell; so do we.
            return shlex.split(self.shell, posix=posix)
        return [
            "python",
            "-m",
            "robot",
            "--report",
            "NONE",
            "--outputdir",
            artifacts_dir,
            "--logtitle",
            "Task log",
            "--task",
            self.robot_task_name,
            ".",
        ]


@dataclass(frozen=True)
class RobotYaml:
    tasks: tuple[RobotTask, ...]
    artifacts_dir: str
    conda_config_file: str = ""
    environment_configs: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    pythonpath: tuple[str, ...] = ()
    not_honoured: tuple[str, ...] = ()
    """Keys present in the file that the agent does not act on."""

    @property
    def task_names(self) -> list[str]:
        return [task.name for task in self.tasks]

    def task(self, name: str) -> RobotTask:
        """rcc's choice: the exact (trimmed) name, else the same name in another case; with
        no name, the only task."""
        wanted = name.strip()
        if not wanted:
            if len(self.tasks) == 1:
                return self.tasks[0]
            raise TaskNotNamed(
                f"robot.yaml has {len(self.tasks)} tasks ({_listed(self.task_names)}): "
                "name the one to run"
            )
        for task in self.tasks:
            if task.name.strip() == wanted:
                return task
        for task in self.tasks:
            if task.name.strip().casefold() == wanted.casefold():
                return task
        raise RobotYamlError(
            f"robot.yaml has no task '{wanted}' (its tasks: {_listed(self.task_names)})"
        )

    def environment_file(self, exists: Callable[[str], bool], marker: str = "") -> str:
        """The environment file rcc would use on this platform: the first existing entry of
        environmentConfigs (one naming a platform, with '_' or 'freeze' in its name, only
        when it names ours), else condaConfigFile; "" for a robot with no environment."""
        marker = marker or platform_marker()
        for candidate in self.environment_configs:
            specific = "_" in candidate or "freeze" in candidate.lower()
            if specific and marker not in candidate:
                continue
            if exists(candidate):
                return candidate
        if self.conda_config_file and exists(self.conda_config_file):
            return self.conda_config_file
        return ""


@dataclass(frozen=True)
class RobotEnvironment:
    """What an environment file asks for, split into what a venv can honour and what not."""

    pip: tuple[str, ...] = ()
    """Requirement lines for pip (options such as `--extra-index-url` included)."""
    python: str = ""
    """The Python version the file pins ('' when none)."""
    conda_only: tuple[str, ...] = ()
    """Conda packages a venv cannot provide (nodejs, ...)."""
    not_honoured: tuple[str, ...] = ()
    """Other keys the agent does not act on (rccPostInstall, post-install, ...)."""

    def requirements_text(self) -> str:
        return "".join(f"{line}\n" for line in self.pip)


def platform_marker() -> str:
    """rcc's name for this platform, as in `conda_linux_amd64_freeze.yaml`."""
    system = {"win32": "windows", "darwin": "darwin"}.get(sys.platform, "linux")
    machine = _platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    return f"{system}_{arch.get(machine, machine)}"


def parse_robot_yaml(raw: bytes) -> RobotYaml:
    data = _load(raw, ROBOT_YAML)
    tasks = data.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        raise RobotYamlError("robot.yaml needs 'tasks:', a mapping of task names to commands")
    artifacts = data.get("artifactsDir")
    if not isinstance(artifacts, str) or not artifacts.strip():
        raise RobotYamlError("robot.yaml needs 'artifactsDir:', a folder for the run's output")
    artifacts = _relative(artifacts.strip(), "artifactsDir")
    conda = data.get("condaConfigFile") or ""
    if not isinstance(conda, str):
        raise RobotYamlError("robot.yaml 'condaConfigFile' must be a file name")
    return RobotYaml(
        tasks=tuple(_task(str(name), body) for name, body in tasks.items()),
        artifacts_dir=artifacts,
        conda_config_file=_relative(conda.strip(), "condaConfigFile") if conda.strip() else "",
        environment_configs=_paths(data, "environmentConfigs"),
        path=_paths(data, "PATH"),
        pythonpath=_paths(data, "PYTHONPATH"),
        not_honoured=tuple(key for key in NOT_HONOURED if data.get(key)),
    )


def _task(name: str, body: Any) -> RobotTask:
    if not name.strip():
        raise RobotYamlError("robot.yaml has a task without a name")
    if not isinstance(body, dict):
        raise RobotYamlError(f"robot.yaml task '{name}' must be a mapping (shell: ...)")
    given = [key for key in ("shell", "command", "robotTaskName") if body.get(key)]
    if len(given) != 1:
        raise RobotYamlError(
            f"robot.yaml task '{name}' needs exactly one of 'shell', 'command' or "
            f"'robotTaskName'" + (f", not {' and '.join(given)}" if given else "")
        )
    value = body[given[0]]
    if given[0] == "command":
        if not isinstance(value, list) or not all(isinstance(p, str | int | float) for p in value):
            raise RobotYamlError(f"robot.yaml task '{name}': 'command' must be a list of words")
        return RobotTask(name, command=tuple(str(part) for part in value))
    if not isinstance(value, str):
        raise RobotYamlError(f"robot.yaml task '{name}': '{given[0]}' must be text")
    if given[0] == "shell":
        return RobotTask(name, shell=value.strip())
    return RobotTask(name, robot_task_name=value.strip())


def _paths(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RobotYamlError(f"robot.yaml '{key}' must be a list of relative paths")
    return tuple(_relative(item.strip(), key) for item in value if item.strip())


def _relative(path: str, key: str) -> str:
    # As rcc: everything robot.yaml names lives under the robot's root.
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or ":" in path:
        raise RobotYamlError(f"robot.yaml '{key}' must be relative to the robot, not '{path}'")
    return PurePosixPath(path.replace("\\", "/")).as_posix()


def parse_environment(raw: bytes, file_name: str) -> RobotEnvironment:
    """conda.yaml (`dependencies:` conda specs plus a `pip:` list) or package.yaml
    (`dependencies: {conda-forge: [...], pypi: [...]}`), told apart by their shape."""
    data = _load(raw, file_name)
    dependencies = data.get("dependencies") or []
    if isinstance(dependencies, dict):
        return _package_yaml(dependencies, data, file_name)
    if not isinstance(dependencies, list):
        raise RobotEnvironmentError(file_name, "'dependencies' must be a list")
    conda: list[str] = []
    pip: list[str] = []
    for entry in dependencies:
        if isinstance(entry, dict) and set(entry) == {"pip"}:
            pip.extend(_words(entry["pip"], file_name, "pip"))
        elif isinstance(entry, str | int | float):
            conda.append(str(entry).strip())
        else:
            raise RobotEnvironmentError(file_name, f"unexpected dependency {entry!r}")
    extra = tuple(key for key in ("rccPostInstall",) if data.get(key))
    return _split(conda, pip, extra)


def _package_yaml(
    dependencies: dict[str, Any], data: dict[str, Any], file_name: str
) -> RobotEnvironment:
    conda = _words(dependencies.get("conda-forge"), file_name, "conda-forge")
    pypi = [_pinned(spec) for spec in _words(dependencies.get("pypi"), file_name, "pypi")]
    extra = tuple(key for key in ("post-install",) if data.get(key))
    return _split(conda, pypi, extra)


def _split(conda: Iterable[str], pip: list[str], extra: tuple[str, ...]) -> RobotEnvironment:
    python, others = "", []
    for spec in conda:
        name = re.split(r"[=<>!~ ]", spec.split("::")[-1], maxsplit=1)[0].strip().lower()
        if name == "python":
            python = spec.split("::")[-1][len(name) :].lstrip("=<>!~ ")
        elif name and name not in PIP_TOOLS:
            others.append(spec)
    return RobotEnvironment(tuple(pip), python, tuple(others), extra)


def _pinned(spec: str) -> str:
    """package.yaml pins with one '=' (`robocorp=1.6.1`); pip wants '=='."""
    if spec.startswith("-"):
        return spec
    return re.sub(r"^([A-Za-z0-9._\-\[\],]+)=(?!=)", r"\1==", spec)


def _words(value: Any, file_name: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise RobotEnvironmentError(file_name, f"'{key}' must be a list of package specs")
    return [str(item).strip() for item in value if str(item).strip()]


class RobotEnvironmentError(RobotYamlError):
    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(f"{file_name}: {problem}")


def _load(raw: bytes, file_name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise RobotYamlError(f"{file_name} is not valid YAML{at}") from None
    if not isinstance(data, dict):
        raise RobotYamlError(f"{file_name} must hold a YAML mapping")
    return data


def _listed(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)
