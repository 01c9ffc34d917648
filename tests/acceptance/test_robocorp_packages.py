"""Robocorp robots at upload (issue 12, part 3): a zip with robot.yaml at its root is a
`robocorp` version (EntryPoint: the task robofleet.json names, or "" for the only task); a
robot.yaml or environment file that could not run is refused with a 422 naming the problem,
and nothing is kept."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.acceptance.conftest import Tenant
from tests.support.fleet import zip_package

ROBOT_YAML = """tasks:
  Run all tasks:
    shell: python -m robocorp.tasks run tasks.py
condaConfigFile: conda.yaml
artifactsDir: output
PYTHONPATH:
  - .
"""
CONDA_YAML = """channels: [conda-forge]
dependencies:
  - python=3.10.12
  - pip=23.2.1
  - pip:
    - robocorp-tasks
"""
TASKS = "from robocorp.tasks import task\n\n@task\ndef run():\n    print('hi')\n"


def new_process(api: httpx.Client) -> str:
    response = api.post("/api/process/create", json={"Name": f"rc-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 200, response.text
    return str(response.json()["guid"])


def upload(api: httpx.Client, process: str, content: bytes) -> httpx.Response:
    return api.post(
        "/api/processVersion/create",
        data={"ProcessGuid": process},
        files={"ProcessFile": ("robot.zip", content, "application/zip")},
    )


def test_a_robot_folder_is_a_robocorp_version(tenant: Tenant) -> None:
    api = tenant.api
    process = new_process(api)
    files = {"robot.yaml": ROBOT_YAML, "conda.yaml": CONDA_YAML, "tasks.py": TASKS}
    response = upload(api, process, zip_package(files))
    assert response.status_code == 200, response.text
    version = response.json()
    assert (version["kind"], version["entry_point"]) == ("robocorp", "")
    listed = api.get(f"/api/processVersion/list/{process}").json()
    assert [row["kind"] for row in listed] == ["robocorp"]


def test_robofleet_json_chooses_one_of_several_tasks(tenant: Tenant) -> None:
    api = tenant.api
    several = ROBOT_YAML.replace(
        "condaConfigFile", "  Produce:\n    shell: python produce.py\ncondaConfigFile"
    )
    files = {"robot.yaml": several, "conda.yaml": CONDA_YAML, "tasks.py": TASKS}
    chosen = zip_package(files, manifest={"kind": "robocorp", "entry_point": "produce"})
    response = upload(api, new_process(api), chosen)
    assert response.status_code == 200, response.text
    assert (response.json()["kind"], response.json()["entry_point"]) == ("robocorp", "produce")


@pytest.mark.parametrize(
    ("files", "manifest", "problem"),
    [
        (
            {"robot.yaml": ROBOT_YAML.replace("artifactsDir: output\n", "")},
            None,
            "robot.yaml needs 'artifactsDir:'",
        ),
        (
            {
                "robot.yaml": ROBOT_YAML.replace(
                    "condaConfigFile", "  Other:\n    shell: x\nconda"
                ),
                "conda.yaml": CONDA_YAML,
            },
            None,
            "robot.yaml has 2 tasks ('Run all tasks', 'Other'): name the one to run in "
            'robofleet.json {"kind": "robocorp", "entry_point": "<task>"}',
        ),
        (
            {"robot.yaml": ROBOT_YAML, "conda.yaml": CONDA_YAML},
            {"kind": "robocorp", "entry_point": "Missing"},
            "robot.yaml has no task 'Missing'",
        ),
        (
            {"robot.yaml": ROBOT_YAML},
            None,
            "robot.yaml names condaConfigFile 'conda.yaml', not in the zip",
        ),
        (
            {"robot.yaml": ROBOT_YAML, "conda.yaml": "dependencies: [\n"},
            None,
            "conda.yaml is not valid YAML",
        ),
        (
            {"robot.yaml": "tasks:\n  A:\n    shell: x\n    command: [y]\nartifactsDir: o\n"},
            None,
            "robot.yaml task 'A' needs exactly one of 'shell', 'command' or 'robotTaskName'",
        ),
        (
            {"my-robot/robot.yaml": ROBOT_YAML, "my-robot/conda.yaml": CONDA_YAML},
            None,
            "robot.yaml must be at the zip's root, not 'my-robot/robot.yaml'",
        ),
        (
            {"tasks.py": TASKS},
            {"kind": "robocorp"},
            "a robocorp package needs robot.yaml at the zip's root",
        ),
    ],
)
def test_a_robot_that_cannot_run_is_refused_at_upload(
    tenant: Tenant, files: dict[str, str], manifest: dict[str, object] | None, problem: str
) -> None:
    api = tenant.api
    process = new_process(api)
    response = upload(api, process, zip_package(files, manifest=manifest))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["details"][0]["field"] == "ProcessFile"
    assert problem in body["message"]
    assert api.get(f"/api/processVersion/list/{process}").json() == []  # nothing kept
