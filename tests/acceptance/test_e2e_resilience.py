"""Crashes lose nothing: an agent killed mid-job, a server restarted mid-job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot
from tests.support.queues import eventually
from tests.support.server import ServerProcess

FAST = {"ROBOFLEET_ROBOT_TIMEOUT_SECONDS": "2", "ROBOFLEET_UNKNOWN_JOB_GRACE_SECONDS": "3"}


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_an_agent_killed_mid_job(fresh_server: ServerProcess, tmp_path: Path) -> None:
    fresh_server.env.update(FAST)
    fresh_server.start()
    api = fresh_server.client()
    robot = make_robot(api)
    marker = tmp_path / "running"
    script = f"import time\nopen({str(marker)!r}, 'w').write('x')\ntime.sleep(120)\n"
    job = create_job(api, make_process(api, script=script), Robot=robot)["guid"]
    agent = AgentProcess(fresh_server.url, robot, tmp_path / "agent").start()
    try:
        eventually(
            lambda: api.get(f"/api/job/read/{job}").json()["status"] == 8 and marker.exists(),
            timeout=60,
        )
        agent.kill()
        eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] == 9)
        assert api.get(f"/api/robot/read/{robot}").json()["Status"] == 0
        eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] == 5)
        assert "did not come back" in api.get(f"/api/job/read/{job}").json()["last_message"]
    finally:
        agent.kill()


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_a_server_restarted_mid_job_loses_nothing(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    fresh_server.start()
    api = fresh_server.client()
    robot = make_robot(api)
    started, release = tmp_path / "started", tmp_path / "release"
    script = (
        "import time\nfrom robofleet import sdk\n"
        f"open({str(started)!r}, 'w').write('x')\n"
        "sdk.log('Info', 'before the restart')\n"
        f"while not __import__('os').path.exists({str(release)!r}):\n"
        "    time.sleep(0.1)\n"
        "sdk.log('Info', 'after the restart')\n"
        "sdk.set_return_value({'survived': True})\n"
    )
    job = create_job(api, make_process(api, script=script), Robot=robot)["guid"]
    agent = AgentProcess(fresh_server.url, robot, tmp_path / "agent").start()
    try:
        eventually(lambda: started.exists(), timeout=60)
        fresh_server.stop()
        release.write_text("go")  # the job finishes while the server is down
        fresh_server.start()
        eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] == 4, timeout=90)
        done = api.get(f"/api/job/read/{job}").json()
        assert done["return_value"] == {"survived": True}
        messages = [
            line["Message"]
            for line in api.get(
                "/api/log/list", params={"Job": job, "AfterId": 0, "Count": 1000}
            ).json()
        ]
        assert "before the restart" in messages and "after the restart" in messages
        assert agent.process is not None and agent.process.poll() is None  # it kept going
    finally:
        assert agent.stop() == 0
