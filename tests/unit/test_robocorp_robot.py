"""Robocorp robots read as rcc reads them: robot.yaml's tasks and the choice among them, the
environment file that applies, conda.yaml and package.yaml split into what a venv can honour
and what it cannot."""

from __future__ import annotations

import pytest

from robofleet.packaging import infer_manifest, parse_manifest
from robofleet.robocorp_robot import (
    RobotYamlError,
    parse_environment,
    parse_robot_yaml,
)

ROBOT = b"""
tasks:
  Run all tasks:
    shell: python -m robocorp.tasks run tasks.py
  Produce:
    command:
      - python
      - -m
      - robocorp.tasks
      - run
      - tasks.py
      - -t
      - produce
  RF Task:
    robotTaskName: Check The Thing
condaConfigFile: conda.yaml
artifactsDir: output
PATH:
  - bin
PYTHONPATH:
  - .
  - ./libraries
ignoreFiles:
  - .gitignore
"""


def test_robot_yaml_gives_tasks_artifacts_and_paths() -> None:
    robot = parse_robot_yaml(ROBOT)
    assert robot.task_names == ["Run all tasks", "Produce", "RF Task"]
    assert robot.artifacts_dir == "output"
    assert robot.conda_config_file == "conda.yaml"
    assert robot.path == ("bin",)
    assert robot.pythonpath == (".", "libraries")
    assert robot.not_honoured == ()  # ignoreFiles only matters when wrapping the zip
    warned = parse_robot_yaml(ROBOT + b"preRunScripts:\n  - setup.sh\n")
    assert warned.not_honoured == ("preRunScripts",)


def test_each_kind_of_task_gives_rccs_command_line() -> None:
    robot = parse_robot_yaml(ROBOT)
    assert robot.task("Run all tasks").argv("output") == [
        "python",
        "-m",
        "robocorp.tasks",
        "run",
        "tasks.py",
    ]
    assert robot.task("Produce").argv("output")[-2:] == ["-t", "produce"]
    assert robot.task("RF Task").argv("output") == [
        "python",
        "-m",
        "robot",
        "--report",
        "NONE",
        "--outputdir",
        "output",
        "--logtitle",
        "Task log",
        "--task",
        "Check The Thing",
        ".",
    ]


def test_a_task_is_chosen_by_trimmed_name_then_in_any_case() -> None:
    robot = parse_robot_yaml(ROBOT)
    assert robot.task("  Produce ").name == "Produce"
    assert robot.task("run ALL tasks").name == "Run all tasks"
    with pytest.raises(RobotYamlError, match=r"no task 'Consume'.*'Produce'"):
        robot.task("Consume")


def test_no_name_chooses_only_the_only_task() -> None:
    with pytest.raises(RobotYamlError, match=r"has 3 tasks .*name the one to run"):
        parse_robot_yaml(ROBOT).task("")
    single = parse_robot_yaml(b"tasks: {Only: {shell: echo hi}}\nartifactsDir: out\n")
    assert single.task("").name == "Only"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"artifactsDir: out\n", "needs 'tasks:'"),
        (b"tasks: {A: {shell: x}}\n", "needs 'artifactsDir:'"),
        (b"tasks: {A: {shell: x}}\nartifactsDir: /abs\n", "must be relative"),
        (b"tasks: {A: {shell: x}}\nartifactsDir: C:/out\n", "must be relative"),
        (b"tasks: {A: {}}\nartifactsDir: out\n", "exactly one of"),
        (b"tasks: {A: {shell: x, command: [y]}}\nartifactsDir: o\n", "not shell and command"),
        (b"tasks: {A: {command: python}}\nartifactsDir: out\n", "list of words"),
        (b"tasks: {A: {shell: x}}\nartifactsDir: out\nPATH: 3\n", "'PATH' must be a list"),
        (b"tasks: [a, b]\nartifactsDir: out\n", "needs 'tasks:'"),
        (b"tasks: {A: {shell: x}\n", "not valid YAML at line"),
        (b"- just\n- a list\n", "must hold a YAML mapping"),
    ],
)
def test_a_robot_yaml_that_cannot_run_names_its_problem(text: bytes, problem: str) -> None:
    with pytest.raises(RobotYamlError, match=problem):
        parse_robot_yaml(text)


def test_the_environment_file_is_the_first_existing_one_for_this_platform() -> None:
    robot = parse_robot_yaml(
        b"tasks: {A: {shell: x}}\nartifactsDir: out\nenvironmentConfigs:\n"
        b"  - environment_windows_amd64_freeze.yaml\n  - environment_linux_amd64_freeze.yaml\n"
        b"  - conda.yaml\n"
    )
    every = {"environment_windows_amd64_freeze.yaml", "environment_linux_amd64_freeze.yaml"}
    present = every | {"conda.yaml"}
    assert robot.environment_file(present.__contains__, "linux_amd64") == (
        "environment_linux_amd64_freeze.yaml"
    )
    assert robot.environment_file(present.__contains__, "darwin_arm64") == "conda.yaml"
    assert robot.environment_file(set().__contains__, "linux_amd64") == ""


def test_conda_config_file_is_the_fallback() -> None:
    robot = parse_robot_yaml(
        b"tasks: {A: {shell: x}}\nartifactsDir: out\ncondaConfigFile: ./conda.yaml\n"
        b"environmentConfigs: [package.yaml]\n"
    )
    assert robot.environment_file({"conda.yaml"}.__contains__) == "conda.yaml"
    assert robot.environment_file({"conda.yaml", "package.yaml"}.__contains__) == "package.yaml"


CONDA = b"""
channels:
  - conda-forge
dependencies:
  - python=3.10.12
  - pip=23.2.1
  - nodejs=18.17.1
  - conda-forge::ffmpeg
  - pip:
    - robocorp-tasks==2.9.1
    - --extra-index-url https://example.invalid/simple
    - robocorp-workitems>=1.4
rccPostInstall:
  - rfbrowser init
"""


def test_conda_yaml_splits_pip_from_conda_only_entries() -> None:
    env = parse_environment(CONDA, "conda.yaml")
    assert env.pip == (
        "robocorp-tasks==2.9.1",
        "--extra-index-url https://example.invalid/simple",
        "robocorp-workitems>=1.4",
    )
    assert env.python == "3.10.12"
    assert env.conda_only == ("nodejs=18.17.1", "conda-forge::ffmpeg")  # pip is in every venv
    assert env.not_honoured == ("rccPostInstall",)
    assert env.requirements_text().splitlines()[0] == "robocorp-tasks==2.9.1"


def test_package_yaml_pins_pypi_entries_for_pip() -> None:
    env = parse_environment(
        b"dependencies:\n  conda-forge:\n    - python=3.12.8\n    - uv=0.4.17\n"
        b"  pypi:\n    - robocorp=2.1.1\n    - robocorp-vault>=1.3\n"
        b"    - --use-feature=truststore\n"
        b"    - requests[socks]=2.32.3\n",
        "package.yaml",
    )
    assert env.pip == (
        "robocorp==2.1.1",
        "robocorp-vault>=1.3",
        "--use-feature=truststore",
        "requests[socks]==2.32.3",
    )
    assert env.python == "3.12.8"
    assert env.conda_only == ()  # uv only installs


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"dependencies: python\n", "'dependencies' must be a list"),
        (b"dependencies:\n  - pip: robocorp\n", "'pip' must be a list"),
        (b"dependencies:\n  - {foo: [1]}\n", "unexpected dependency"),
        (b"dependencies: {pypi: text}\n", "'pypi' must be a list"),
        (b"dependencies: [\n", "not valid YAML"),
    ],
)
def test_a_bad_environment_file_names_its_problem(text: bytes, problem: str) -> None:
    with pytest.raises(RobotYamlError, match=problem):
        parse_environment(text, "conda.yaml")


def test_robot_yaml_makes_a_robocorp_package() -> None:
    assert infer_manifest({"robot.yaml", "main.py"}).kind == "robocorp"
    assert infer_manifest({"robot.yaml"}).entry_point == ""
    chosen = parse_manifest(b'{"kind": "robocorp", "entry_point": " Produce "}')
    assert (chosen.kind, chosen.entry_point) == ("robocorp", "Produce")
    assert parse_manifest(b'{"kind": "robocorp"}').entry_point == ""
