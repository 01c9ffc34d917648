"""A Robocorp robot with a shell task (no Robocorp libraries) on a real agent (issue 12,
part 3): the task robofleet.json names runs with cwd = the robot's root, robot.yaml's PATH and
PYTHONPATH, ROBOT_ROOT / ROBOT_ARTIFACTS, and the RC_* variables that point the Robocorp
libraries at this server with the job's token; exit code 0 is Success, anything else Failed;
what the agent cannot honour (conda-only packages, a Python pin, preRunScripts) is a Warning
on the job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import Tenant
from tests.acceptance.test_e2e_jobs import agents, logs_of, start_agent, wait_for_end
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, zip_package

__all__ = ["agents"]  # the fixture, shared with the end-to-end job tests

ROBOT_YAML = """tasks:
  Report:
    shell: python report.py --greeting "hello there"
  Fail:
    command:
      - python
      - report.py
      - --exit
      - "3"
artifactsDir: output
condaConfigFile: conda.yaml
PATH:
  - bin
PYTHONPATH:
  - lib
preRunScripts:
  - setup.sh
"""
CONDA_YAML = """channels: [conda-forge]
dependencies:
  - python=3.9.13
  - pip=23.2.1
  - nodejs=18.17.1
"""
REPORT = """
import json, os, sys, urllib.request
from pathlib import Path

import helper  # found through robot.yaml's PYTHONPATH
from robofleet import sdk

seen = {name: value for name, value in os.environ.items() if name.startswith(("RC_", "ROBOT_"))}
# What robocorp-vault asks first, with what the library would send.
request = urllib.request.Request(
    f"{seen['RC_API_SECRET_HOST']}/secrets-v1/workspaces/{seen['RC_WORKSPACE_ID']}"
    "/secrets/publicKey",
    headers={"Authorization": f"Bearer {seen['RC_API_SECRET_TOKEN']}"},
)
with urllib.request.urlopen(request) as answer:
    vault_key_status = answer.status
Path(os.environ["ROBOT_ARTIFACTS"], "seen.json").write_text(json.dumps(seen))
sdk.set_return_value(
    {
        "env": seen,
        "cwd": os.getcwd(),
        "argv": sys.argv[1:],
        "helper": helper.NAME,
        "path": os.environ["PATH"].split(os.pathsep)[:2],
        "python": sys.executable,
        "job": os.environ["ROBOFLEET_JOB_GUID"],
        "vault_key_status": vault_key_status,
    }
)
print("report written")
if "--exit" in sys.argv:
    sys.exit(int(sys.argv[-1]))
"""


def robot_package(task: str) -> bytes:
    return zip_package(
        {
            "robot.yaml": ROBOT_YAML,
            "conda.yaml": CONDA_YAML,
            "report.py": REPORT,
            "lib/helper.py": "NAME = 'from lib'\n",
            "bin/README": "tools of the robot\n",
        },
        manifest={"kind": "robocorp", "entry_point": task},
    )


def run_task(tenant: Tenant, robot: str, task: str) -> tuple[str, dict[str, Any]]:
    process = make_process(tenant.api, content=robot_package(task), file_name="robot.zip")
    job = str(create_job(tenant.api, process, Robot=robot)["guid"])
    return job, wait_for_end(tenant, job)


def test_a_shell_task_runs_to_success_with_rccs_variables(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    job, done = run_task(tenant, robot, "report")  # chosen in any case, as rcc does
    assert done["status"] == 4, done
    value = done["return_value"]
    root = Path(value["cwd"])
    assert value["argv"] == ["--greeting", "hello there"]
    assert value["helper"] == "from lib"
    # robot.yaml's PATH first, then the job's interpreter (`python` in the task)
    assert value["path"] == [str(root / "bin"), str(Path(value["python"]).parent)]
    assert value["job"] == job
    env = value["env"]
    assert env["ROBOT_ROOT"] == str(root)
    assert env["ROBOT_ARTIFACTS"] == str(root / "output")
    # The job's Robocorp ids and token, and this server's Robocorp API.
    assert env["RC_WORKSPACE_ID"] == tenant.guid
    assert env["RC_PROCESS_RUN_ID"] == env["RC_ACTIVITY_RUN_ID"] == job
    assert env["RC_PROCESS_ID"] == done["process_guid"]
    assert env["RC_WORKITEM_ID"] == ""  # no default task: the library reserves through the API
    api = f"{tenant.server.url}/robocorp"
    for family in ("WORKITEM", "PROCESS", "SECRET"):
        assert env[f"RC_API_{family}_HOST"] == api
    assert env["RC_API_URL_V1"] == f"{api}/v1"
    tokens = {env[name] for name in env if name.startswith("RC_API_") and "TOKEN" in name}
    assert len(tokens) == 1 and tokens != {""}
    assert value["vault_key_status"] == 200  # the token opened the vault during the job
    # The artifacts folder is kept in Storage, under the job's GUID.
    kept = tenant.api.get(f"/api/files/read/Robocorp artifacts/{job}/seen.json")
    assert kept.status_code == 200, kept.text
    content = tenant.api.get(f"/api/files/download/{kept.json()['guid']}").json()
    assert content["RC_PROCESS_RUN_ID"] == job
    warnings = [line["Message"] for line in logs_of(tenant, job) if line["level_name"] == "Warning"]
    assert any("preRunScripts not run" in line for line in warnings), warnings
    assert any("asks for python 3.9.13" in line for line in warnings), warnings
    assert any("conda-only" in line and "nodejs=18.17.1" in line for line in warnings), warnings


def test_a_task_that_exits_non_zero_fails_the_job(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    job, done = run_task(tenant, robot, "Fail")
    assert done["status"] == 5, done
    assert done["return_value"]["argv"] == ["--exit", "3"]
    assert "exit code 3" in done["last_message"] or "exit code 3" in str(done)
    assert "report written" in [line["Message"] for line in logs_of(tenant, job)]


RF_ROBOT_YAML = """tasks:
  Check:
    robotTaskName: Totals Add Up
artifactsDir: output
"""
RF_TASKS = """*** Tasks ***
Totals Add Up
    Should Be Equal As Integers    ${2}    ${2}
    Log    totals checked    console=True

Not Run Here
    Fail    only the named task runs
"""


def test_a_robot_task_name_runs_that_robot_framework_task(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    package = zip_package({"robot.yaml": RF_ROBOT_YAML, "tasks.robot": RF_TASKS})
    process = make_process(tenant.api, content=package, file_name="rf-robot.zip")
    job = str(create_job(tenant.api, process, Robot=robot)["guid"])
    done = wait_for_end(tenant, job)
    assert done["status"] == 4, done
    # Robot Framework's output.xml, in robot.yaml's artifacts folder, read as for .robot suites
    assert done["return_value"]["passed"] == 1 and done["return_value"]["failed"] == 0
    messages = [line["Message"] for line in logs_of(tenant, job)]
    assert any("PASS" in m and "Totals Add Up" in m for m in messages), messages
    assert not any("Not Run Here" in m for m in messages)


PACKAGE_YAML = """# robocorp's newer environment file: pins with one '='
dependencies:
  conda-forge:
    - python=3.10.14
    - uv=0.4.17
  pypi:
    - robocorp-tasks=4.1.1
dev-dependencies:
  pypi:
    - pytest=8.3.3
"""
PACKAGE_ROBOT_YAML = """tasks:
  Say:
    shell: python -m robocorp.tasks run tasks.py
environmentConfigs:
  - environment_windows_amd64_freeze.yaml
  - package.yaml
artifactsDir: output
"""
SAY_TASKS = """
import os
from importlib.metadata import version

from robocorp.tasks import task


@task
def say():
    print(f"robocorp-tasks {version('robocorp-tasks')} for {os.environ['RC_PROCESS_RUN_ID']}")
"""


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_package_yaml_pypi_dependencies_go_into_the_venv(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    robot, _ = start_agent(tenant, tmp_path, agents)
    files = {"robot.yaml": PACKAGE_ROBOT_YAML, "package.yaml": PACKAGE_YAML, "tasks.py": SAY_TASKS}
    process = make_process(tenant.api, content=zip_package(files), file_name="say.zip")
    job = str(create_job(tenant.api, process, Robot=robot)["guid"])
    done = wait_for_end(tenant, job, timeout=600)
    assert done["status"] == 4, done
    lines = logs_of(tenant, job)
    assert f"robocorp-tasks 4.1.1 for {job}" in [line["Message"] for line in lines]
    warnings = [line["Message"] for line in lines if line["level_name"] == "Warning"]
    assert not any("conda-only" in line for line in warnings), warnings  # uv only installs
    # Robofleet needs Python 3.11 or later: a 3.10 pin is never the agent's.
    assert any("asks for python 3.10.14" in line for line in warnings), warnings
