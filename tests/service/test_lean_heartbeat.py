"""The lean heartbeat (services.jobs.lean_heartbeat) answers and writes what the session path
(robot_protocol.session_heartbeat) answers and writes, on both stores.

Each case sets up two robots alike ("twins"): one calls in through the service entry (lean
when it applies), the other through the session path alone; answers and stored rows must
match. Whether the lean path took the call is asserted through `lean_heartbeat` itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from robofleet.contract import STOP_COMMAND
from robofleet.server.db.tables import JobRow, RobotRow, TaskRow
from robofleet.server.domain.robots import RobotStatus
from robofleet.server.schemas.robots import HeartbeatRequest, HeartbeatResponse
from robofleet.server.services.jobs import robot_protocol
from robofleet.server.services.jobs.lean_heartbeat import lean_heartbeat
from tests.service.conftest import Service, Tenant, make_tenant, robot_caller
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import add, make_queue, take

ACTIVITY = ("status", "machine", "ip", "mac", "agent_version")


def robot_row(service: Service, guid: str) -> dict[str, Any]:
    with service.runtime.db.read() as session:
        row = session.scalar(select(RobotRow).where(RobotRow.guid == guid))
        assert row is not None
        return {name: getattr(row, name) for name in (*ACTIVITY, "last_heartbeat_at")}


def leases(service: Service, guid: str) -> list[tuple[datetime | None, int | None]]:
    """(lease expiry, lease seconds) of the tasks the robot holds, in id order."""
    with service.runtime.db.read() as session:
        robot_id = session.scalar(select(RobotRow.id).where(RobotRow.guid == guid))
        rows = session.execute(
            select(TaskRow.lease_expires_at, TaskRow.lease_seconds)
            .where(TaskRow.lease_robot_id == robot_id)
            .order_by(TaskRow.id)
        )
        return [(expires, seconds) for expires, seconds in rows]


def beat_both(
    service: Service, lean: str, full: str, **fields: Any
) -> tuple[HeartbeatResponse, HeartbeatResponse]:
    """`lean` calls in through the service entry, `full` through the session path only."""

    def request(guid: str) -> HeartbeatRequest:
        return HeartbeatRequest.model_validate({"RobotGUID": guid, **fields})

    runtime = service.runtime
    first = robot_protocol.heartbeat(runtime, robot_caller(service, lean), request(lean))
    second = robot_protocol.session_heartbeat(runtime, robot_caller(service, full), request(full))
    return first, second


def same_rows(service: Service, lean: str, full: str) -> dict[str, Any]:
    mine, theirs = robot_row(service, lean), robot_row(service, full)
    assert {k: mine[k] for k in ACTIVITY} == {k: theirs[k] for k in ACTIVITY}
    assert mine["last_heartbeat_at"] is not None and theirs["last_heartbeat_at"] is not None
    assert abs(datetime.now(UTC) - mine["last_heartbeat_at"]) < timedelta(seconds=30)
    return mine


def twins(tenant: Tenant, **fields: Any) -> tuple[str, str]:
    return make_robot(tenant.api, **fields), make_robot(tenant.api, **fields)


def is_lean(service: Service, guid: str, **fields: Any) -> bool:
    data = HeartbeatRequest.model_validate({"RobotGUID": guid, **fields})
    return lean_heartbeat(service.runtime, robot_caller(service, guid), data) is not None


def test_status_and_activity_columns_are_written_alike(store_tenant: Tenant) -> None:
    service = store_tenant.service
    lean, full = twins(store_tenant)
    assert is_lean(service, lean)
    steps: list[dict[str, Any]] = [
        {"Status": 2, "Machine": "m1", "IP": "10.0.0.1", "MAC": "aa:bb", "Version": "1.2"},
        {"Status": 3},  # Working is written; the rest stays
        {"Status": 0, "Machine": ""},  # Disconnected is not written; empty keeps machine
        {"Status": 1, "IP": "10.0.0.2"},  # nor Unlicensed
        {"Status": 2, "Version": "1.3", "MAC": "cc:dd"},
    ]
    expected_status = [2, 3, 3, 3, 2]
    for step, status in zip(steps, expected_status, strict=True):
        first, second = beat_both(service, lean, full, **step)
        assert first == second
        assert first.heartbeat_error_code == 0 and first.active == 1
        assert same_rows(service, lean, full)["status"] == status
    final = robot_row(service, lean)
    assert (final["machine"], final["ip"], final["mac"], final["agent_version"]) == (
        "m1",
        "10.0.0.2",
        "cc:dd",
        "1.3",
    )


def test_snake_case_and_form_requests_reach_the_lean_path(store_tenant: Tenant) -> None:
    service = store_tenant.service
    lean, full = twins(store_tenant)
    with store_tenant.client(**robot_auth(lean)) as robot:
        forms = robot.post(
            "/api/robot/heartbeat", data={"RobotGUID": lean, "Status": "3", "Machine": "f"}
        )
        snake = robot.post("/api/robot/heartbeat", json={"robot_guid": lean, "machine": "s"})
    with store_tenant.client(**robot_auth(full)) as robot:
        assert robot.post("/api/robot/heartbeat", json={"RobotGUID": full}).is_success
    session_form = robot_protocol.session_heartbeat(
        service.runtime,
        robot_caller(service, full),
        HeartbeatRequest.model_validate({"RobotGUID": full, "Status": 3, "Machine": "f"}),
    )
    assert forms.status_code == snake.status_code == 200
    assert forms.json() == session_form.model_dump(by_alias=True)
    assert robot_row(service, lean)["machine"] == "s"
    assert robot_row(service, lean)["status"] == RobotStatus.READY


def test_a_switched_off_robot_is_told_to_stop(store_tenant: Tenant) -> None:
    service = store_tenant.service
    lean, full = twins(store_tenant, Active=False)
    assert is_lean(service, lean)
    first, second = beat_both(service, lean, full, Status=3, Machine="off")
    assert first == second
    assert (first.active, first.command, first.has_new_job) == (0, STOP_COMMAND, 0)
    # Switched off, it is still heard: its activity is written.
    assert same_rows(service, lean, full)["status"] == RobotStatus.WORKING


def test_has_new_job_tells_of_a_job_for_the_robot_its_group_or_anyone(
    store_tenant: Tenant,
) -> None:
    service = store_tenant.service
    lean, full = twins(store_tenant)
    first, second = beat_both(service, lean, full)
    assert first == second and first.has_new_job == 0
    process = make_process(store_tenant.api)
    for robot in (lean, full):
        create_job(store_tenant.api, process, Robot=robot)
    first, second = beat_both(service, lean, full)
    assert first == second and first.has_new_job == 1
    # Another account's job is not theirs.
    other = make_tenant(service)
    create_job(other.api, make_process(other.api))
    lone, lone_twin = twins(store_tenant)
    first, second = beat_both(service, lone, lone_twin)
    assert first == second and first.has_new_job == 0
    # A job for any robot of the account is.
    create_job(store_tenant.api, process)
    first, second = beat_both(service, lone, lone_twin)
    assert first == second and first.has_new_job == 1


def test_leases_of_no_job_are_renewed_from_the_heartbeat(store_tenant: Tenant) -> None:
    service = store_tenant.service
    lean, full = twins(store_tenant)
    queue = make_queue(store_tenant.api, LeaseSeconds=120)
    for robot in (lean, full):
        add(store_tenant.api, queue, f"for-{robot}")
        with store_tenant.client(**robot_auth(robot)) as client:
            assert len(take(client, queue)) == 1
    assert is_lean(service, lean)
    first, second = beat_both(service, lean, full)
    assert first == second
    for robot in (lean, full):
        beat = robot_row(service, robot)["last_heartbeat_at"]
        [(expires, seconds)] = leases(service, robot)
        assert seconds == 120
        assert expires == beat + timedelta(seconds=120)


def test_leases_linked_to_an_ended_job_are_not_renewed(store_tenant: Tenant) -> None:
    service = store_tenant.service
    lean, full = twins(store_tenant)
    process = make_process(store_tenant.api)
    queue = make_queue(store_tenant.api)
    before: dict[str, list[tuple[datetime | None, int | None]]] = {}
    for robot in (lean, full):
        job = create_job(store_tenant.api, process, Robot=robot)["guid"]
        add(store_tenant.api, queue, f"for-{robot}")
        with store_tenant.client(**robot_auth(robot)) as client:
            taken = client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot}).json()
            assert taken["ConsumeJobErrorCode"] == 0, taken
            assert client.put("/api/job/update", json={"Guid": job, "Status": 8}).is_success
            assert len(take(client, queue)) == 1  # linked to the running job
            assert client.put("/api/job/update", json={"Guid": job, "Status": 4}).is_success
        before[robot] = leases(service, robot)
    assert is_lean(service, lean)
    first, second = beat_both(service, lean, full)
    assert first == second
    for robot in (lean, full):
        assert leases(service, robot) == before[robot]


def test_a_robot_holding_a_job_takes_the_session_path(store_tenant: Tenant) -> None:
    """The Ready heartbeat of a robot holding a job it never started hands it back."""
    service = store_tenant.service
    robot = make_robot(store_tenant.api)
    job = create_job(store_tenant.api, make_process(store_tenant.api), Robot=robot)["guid"]
    with store_tenant.client(**robot_auth(robot)) as client:
        taken = client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot}).json()
        assert taken["ConsumeJobErrorCode"] == 0
        before = robot_row(service, robot)
        assert not is_lean(service, robot, Status=2, Machine="held")
        assert robot_row(service, robot) == before  # the refused lean path wrote nothing
        answer = client.post("/api/robot/heartbeat", json={"RobotGUID": robot, "Status": 2})
    assert answer.json()["HeartbeatErrorCode"] == 0 and answer.json()["HasNewJob"] == 1
    with service.runtime.db.read() as session:
        row = session.scalar(select(JobRow).where(JobRow.guid == job))
        assert row is not None and row.claimed_at is None


def test_a_job_named_or_another_caller_takes_the_session_path(store_tenant: Tenant) -> None:
    service = store_tenant.service
    robot, other = twins(store_tenant)
    job = create_job(store_tenant.api, make_process(store_tenant.api), Robot=robot)["guid"]
    assert not is_lean(service, robot, JobGUID=job)
    data = HeartbeatRequest.model_validate({"RobotGUID": robot})
    assert lean_heartbeat(service.runtime, None, data) is None
    with store_tenant.client(**robot_auth(robot)) as client:
        named = client.post("/api/robot/heartbeat", json={"RobotGUID": robot, "JobGUID": job})
        mismatch = client.post("/api/robot/heartbeat", json={"RobotGUID": other})
    assert named.status_code == 200 and named.json()["HeartbeatErrorCode"] == 0
    assert mismatch.status_code == 403
    assert "another robot" in mismatch.text
    # An API key names the robot in the body: the session path answers it.
    by_key = store_tenant.api.post("/api/robot/heartbeat", json={"RobotGUID": robot})
    assert by_key.status_code == 200 and by_key.json()["HeartbeatErrorCode"] == 0


def test_a_deleted_robot_is_not_found(store_tenant: Tenant) -> None:
    service = store_tenant.service
    robot = make_robot(store_tenant.api)
    caller = robot_caller(service, robot)
    assert store_tenant.api.delete(f"/api/robot/delete/{robot}").is_success
    data = HeartbeatRequest.model_validate({"RobotGUID": robot})
    assert lean_heartbeat(service.runtime, caller, data) is None
    answer = robot_protocol.heartbeat(service.runtime, caller, data)
    assert answer.heartbeat_error_code == 101
