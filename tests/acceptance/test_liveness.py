"""A silent robot becomes Disconnected and its job Unknown, then Failed; a robot that comes
back revives its job. Deadlines stop and abort jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import eventually
from tests.support.server import ServerProcess

FAST = {
    "ROBOFLEET_ROBOT_TIMEOUT_SECONDS": "1.5",
    "ROBOFLEET_UNKNOWN_JOB_GRACE_SECONDS": "3",
    "ROBOFLEET_SCHEDULER_INTERVAL_SECONDS": "0.2",
}


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_silent_robot_disconnects_and_its_job_fails(fresh_server: ServerProcess) -> None:
    fresh_server.env.update(FAST)
    fresh_server.start()
    api = fresh_server.client()
    robot = make_robot(api)
    job = create_job(api, make_process(api), Robot=robot)["guid"]
    with fresh_server.client(**robot_auth(robot)) as client:
        client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot})
        client.put("/api/job/update", json={"Guid": job, "Status": 8})
    assert api.get(f"/api/robot/read/{robot}").json()["Status"] == 3

    eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] == 9)
    assert api.get(f"/api/robot/read/{robot}").json()["Status"] == 0
    assert "went silent" in api.get(f"/api/job/read/{job}").json()["last_message"]
    eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] == 5)
    assert "did not come back" in api.get(f"/api/job/read/{job}").json()["last_message"]


def test_a_returning_robot_revives_its_unknown_job(fresh_server: ServerProcess) -> None:
    fresh_server.env.update({**FAST, "ROBOFLEET_UNKNOWN_JOB_GRACE_SECONDS": "600"})
    fresh_server.start()
    api = fresh_server.client()
    robot = make_robot(api)
    job = create_job(api, make_process(api), Robot=robot)["guid"]
    with fresh_server.client(**robot_auth(robot)) as client:
        client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot})
        client.put("/api/job/update", json={"Guid": job, "Status": 8})
        eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] == 9)
        beat = client.post(
            "/api/robot/heartbeat", json={"RobotGUID": robot, "Status": 3, "JobGUID": job}
        ).json()
        assert beat["HeartbeatErrorCode"] == 0
        assert api.get(f"/api/job/read/{job}").json()["status"] == 8
        assert api.get(f"/api/robot/read/{robot}").json()["Status"] == 3
        # A late result is accepted too.
        assert client.put("/api/job/update", json={"Guid": job, "Status": 4}).status_code == 200


def test_stop_after_and_abort_after(fresh_server: ServerProcess) -> None:
    fresh_server.env.update({**FAST, "ROBOFLEET_ROBOT_TIMEOUT_SECONDS": "600"})
    fresh_server.start()
    api = fresh_server.client()
    robot = make_robot(api)
    process = make_process(api)
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    pending = create_job(api, process, Robot=make_robot(api), StopAfter=soon)["guid"]
    running = create_job(api, process, Robot=robot, AbortAfter=soon)["guid"]
    with fresh_server.client(**robot_auth(robot)) as client:
        client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot})
        client.put("/api/job/update", json={"Guid": running, "Status": 8})
        eventually(lambda: api.get(f"/api/job/read/{pending}").json()["status"] == 7)
        eventually(lambda: api.get(f"/api/job/read/{running}").json()["status"] == 2)
        beat = client.post(
            "/api/robot/heartbeat", json={"RobotGUID": robot, "Status": 3, "JobGUID": running}
        ).json()
        assert beat["HeartbeatErrorCode"] == 10
