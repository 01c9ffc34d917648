"""Robots and storage on every blob store: a robot reads and writes the account's files with
its own credentials (Sherpa's file blocks), and a job script does it through the SDK, run by
a real agent. Process packages come from the same blob store, with Range."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import Tenant
from tests.acceptance.test_e2e_jobs import start_agent, wait_for_end
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot, robot_auth, zip_package

JOB = """
from pathlib import Path
from robofleet import sdk

state = sdk.storage.read_text("Robots", "input.txt")
sdk.storage.write_text("Robots/out", "result.txt", state.upper())
Path("big.bin").write_bytes(bytes(range(256)) * 4096 * 3)
row = sdk.storage.upload("Robots/out", "big.bin")
sdk.storage.download("Robots/out", "big.bin", "copy.bin")
same = Path("copy.bin").read_bytes() == Path("big.bin").read_bytes()
sdk.set_return_value({"sha256": row["sha256"], "same": same})
"""


@pytest.fixture
def agents() -> Iterator[list[AgentProcess]]:
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.stop()


def test_a_robot_reads_and_writes_files_with_its_own_credentials(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    with httpx.Client(base_url=tenant.server.url, headers=robot_auth(robot), timeout=30) as bot:
        folder = bot.post("/api/folders/create", data={"name": "FromRobot"})
        assert folder.status_code == 200, folder.text
        created = bot.post(
            "/api/files/create",
            data={"name": "a.txt", "folder_guid": "FromRobot", "file": b"hi".hex()},
        )
        assert created.status_code == 200, created.text
        assert bot.get("/api/files/download/FromRobot/a.txt").content == b"hi"
        assert bot.get(f"/api/files/read/{created.headers['X-Guid']}").json()["size"] == 2
        signed = bot.post("/api/files/sign", json={"File": "FromRobot/a.txt"}).json()
        assert httpx.get(signed["url"]).content == b"hi"
    # The operator sees what the robot wrote.
    assert tenant.api.get("/api/files/download/FromRobot/a.txt").content == b"hi"


def test_a_job_script_uses_the_sdk_through_a_real_agent(
    tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    api = tenant.api
    api.post("/api/folders/create", json={"Name": "Robots"})
    out = api.post("/api/folders/create", json={"Name": "out", "ParentGuid": "Robots"})
    assert out.status_code == 200
    api.put(
        "/api/files/upload", params={"folder": "Robots", "name": "input.txt"}, content=b"state 7"
    )
    robot, _ = start_agent(tenant, tmp_path, agents)
    process = make_process(api, content=zip_package({"main.py": JOB}), file_name="files.zip")
    job = create_job(api, process, Robot=robot)["guid"]
    done = wait_for_end(tenant, job)
    big = bytes(range(256)) * 4096 * 3
    assert done["status"] == 4, (done, agents[0].output()[-3000:])
    assert done["return_value"] == {"sha256": hashlib.sha256(big).hexdigest(), "same": True}
    assert api.get("/api/files/download/Robots/out/result.txt").content == b"STATE 7"
    assert api.get("/api/files/download/Robots/out/big.bin").content == big


def test_process_packages_download_from_the_blob_store_with_range(tenant: Tenant) -> None:
    package = zip_package({"main.py": "print('x')\n" * 500})
    process = make_process(tenant.api, content=package, file_name="p.zip")
    version = tenant.api.get(f"/api/processVersion/list/{process}").json()[0]["guid"]
    whole = tenant.api.get(f"/api/processVersion/download/{version}")
    assert whole.status_code == 200
    assert whole.content == package
    assert whole.headers["x-sha256"] == hashlib.sha256(package).hexdigest()
    part = tenant.api.get(f"/api/processVersion/download/{version}", headers={"Range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.content == package[2:10]
