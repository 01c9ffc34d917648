"""Robot status is free; job statuses follow their table through the API; a robot follows
its job (Working, then Ready); a silent robot's jobs go Unknown, then Failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import product

from starlette.testclient import TestClient

from robofleet.server.domain.jobs import JobStatus
from robofleet.server.domain.robots import RobotStatus
from tests.service.conftest import Service, Tenant, make_tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth


def robot_status(tenant: Tenant, robot: str) -> int:
    return int(tenant.api.get(f"/api/robot/getStatus/{robot}").json()["Status"])


def job_status(tenant: Tenant, job: str) -> int:
    return int(tenant.api.get(f"/api/job/read/{job}").json()["status"])


def consume(robot: TestClient, guid: str) -> str:
    body = robot.post("/api/robot/consumeNextJob", data={"RobotGUID": guid}).json()
    assert body["ConsumeJobErrorCode"] == 0, body
    return str(json.loads(body["Job"])["GUID"])


def test_any_robot_status_may_follow_any_other(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    for current, requested in product(RobotStatus, RobotStatus):
        assert tenant.api.put(
            "/api/robot/setStatus", json={"GUID": robot, "Status": int(current)}
        ).is_success
        moved = tenant.api.put("/api/robot/update", json={"GUID": robot, "Status": int(requested)})
        assert moved.status_code == 200, (current, requested, moved.text)
        assert robot_status(tenant, robot) == requested


def test_a_job_moves_only_as_its_table_allows(tenant: Tenant) -> None:
    guid = make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=guid)["guid"]
    with tenant.client(**robot_auth(guid)) as robot:
        assert consume(robot, guid) == job
        for status in (JobStatus.IN_PROGRESS, JobStatus.STOPPING, JobStatus.STOPPED):
            moved = robot.put("/api/job/update", json={"Guid": job, "Status": int(status)})
            assert moved.status_code == 200, moved.text
        for status in (JobStatus.IN_PROGRESS, JobStatus.SUCCESS, JobStatus.PENDING):
            again = robot.put("/api/job/update", json={"Guid": job, "Status": int(status)})
            assert again.status_code == 409
            assert again.json()["code"] == "invalid_transition"
            assert again.json()["message"] == f"job cannot move from Stopped to {status.label}"
    assert job_status(tenant, job) == JobStatus.STOPPED
    assert tenant.api.post("/api/job/stop", json={"Guid": job}).status_code == 409


def test_stop_and_abort_end_an_untaken_job_at_once_and_ask_a_taken_one(tenant: Tenant) -> None:
    guid = make_robot(tenant.api)
    process = make_process(tenant.api)
    untaken = create_job(tenant.api, process, Robot=guid)["guid"]
    assert tenant.api.post("/api/job/abort", json={"Guid": untaken}).json()["status"] == 3
    taken = create_job(tenant.api, process, Robot=guid)["guid"]
    with tenant.client(**robot_auth(guid)) as robot:
        assert consume(robot, guid) == taken
        assert tenant.api.post("/api/job/stop", json={"Guid": taken}).json()["status"] == 6
        assert tenant.api.post("/api/job/abort", json={"Guid": taken}).json()["status"] == 2
        assert robot.put("/api/job/update", json={"Guid": taken, "Status": 3}).is_success
    assert job_status(tenant, taken) == JobStatus.ABORTED


def test_the_robot_follows_its_job(tenant: Tenant) -> None:
    guid = make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=guid)["guid"]
    with tenant.client(**robot_auth(guid)) as robot:
        robot.post("/api/robot/heartbeat", data={"RobotGUID": guid, "Status": "2"})
        assert robot_status(tenant, guid) == RobotStatus.READY
        consume(robot, guid)
        robot.put("/api/job/update", json={"Guid": job, "Status": 8})
        assert robot_status(tenant, guid) == RobotStatus.WORKING
        robot.put("/api/job/update", json={"Guid": job, "Status": 4})
        assert robot_status(tenant, guid) == RobotStatus.READY
    assert tenant.api.get(f"/api/job/read/{job}").json()["progress"] == 100


def test_a_silent_robot_is_disconnected_and_its_job_lost(own_service: Service) -> None:
    tenant = make_tenant(own_service)
    guid = make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=guid)["guid"]
    with tenant.client(**robot_auth(guid)) as robot:
        robot.post("/api/robot/heartbeat", data={"RobotGUID": guid, "Status": "2"})
        consume(robot, guid)
        robot.put("/api/job/update", json={"Guid": job, "Status": 8})
    settings = own_service.runtime.settings
    silent = datetime.now(UTC) + timedelta(seconds=settings.robot_timeout_seconds + 1)
    own_service.run_duties(silent)
    assert robot_status(tenant, guid) == RobotStatus.DISCONNECTED
    lost = tenant.api.get(f"/api/job/read/{job}").json()
    assert lost["status"] == JobStatus.UNKNOWN and "went silent" in lost["last_message"]
    own_service.run_duties(silent + timedelta(seconds=settings.unknown_job_grace_seconds + 1))
    assert job_status(tenant, job) == JobStatus.FAILED


def test_a_reported_status_counts_as_a_sign_of_life(own_service: Service) -> None:
    """A robot that never heartbeat but whose status was just set is not silent yet: the
    scheduler's next tick must not undo the status; the timeout counts from the report."""
    tenant = make_tenant(own_service)
    guid = make_robot(tenant.api)
    assert tenant.api.put(
        "/api/robot/setStatus", json={"GUID": guid, "Status": int(RobotStatus.READY)}
    ).is_success
    now = datetime.now(UTC)
    own_service.run_duties(now + timedelta(seconds=1))
    assert robot_status(tenant, guid) == RobotStatus.READY
    timeout = own_service.runtime.settings.robot_timeout_seconds
    own_service.run_duties(now + timedelta(seconds=timeout + 2))
    assert robot_status(tenant, guid) == RobotStatus.DISCONNECTED
