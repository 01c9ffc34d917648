"""The lean consume (services.jobs.lean_consume) answers and writes what the session path
(robot_protocol.session_consume_next_job) answers and writes, on both stores; it leaves every
other case to that path with nothing changed; on PostgreSQL the front and waitJob answer it
with one statement on the driver pool.

Each comparison sets up two accounts alike ("twins"), each with one robot and the same jobs:
one robot consumes through the lean path, the other through the session path alone."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from robofleet.contract import ConsumeCode
from robofleet.server.db.tables import JobRow, RobotRow
from robofleet.server.domain.robots import RobotStatus
from robofleet.server.schemas.robots import ConsumeRequest, ConsumeResponse, WaitJobRequest
from robofleet.server.services.jobs import robot_protocol
from robofleet.server.services.jobs.lean_consume import lean_consume
from tests.service.conftest import Service, Tenant, make_tenant, robot_caller
from tests.service.test_on_driver import Counted
from tests.support.fleet import create_job, make_process, make_robot, robot_auth

JOB_VARYING = ("GUID", "Id", "CreatedAt", "ServerTime", "ProcessGUID")
"""Job document values that differ between the twins (their own job rows, and the clock)."""
VERSION_VARYING = ("GUID", "Id", "ProcessGUID", "DownloadUrl", "Name")
"""The version's name carries its upload time (to the second): twins' may differ."""


@dataclass
class Twin:
    tenant: Tenant
    robot: str
    process: str


def twin(service: Service, **robot_fields: Any) -> Twin:
    tenant = make_tenant(service)
    process = make_process(tenant.api, "twinned")
    return Twin(tenant, make_robot(tenant.api, **robot_fields), process)


def robot_row(service: Service, guid: str) -> dict[str, Any]:
    with service.runtime.db.read() as session:
        row = session.scalar(select(RobotRow).where(RobotRow.guid == guid))
        assert row is not None
        return {"status": row.status, "last_heartbeat_at": row.last_heartbeat_at}


def job_rows(service: Service, account_guid: str) -> list[dict[str, Any]]:
    """The account's jobs as a robot's claim leaves them, in creation order (ids and GUIDs,
    which differ between twins, left out)."""
    with service.runtime.db.read() as session:
        account_id = session.scalar(
            text("SELECT id FROM accounts WHERE guid = :guid"), {"guid": account_guid}
        )
        rows = session.scalars(
            select(JobRow).where(JobRow.account_id == account_id).order_by(JobRow.id)
        )
        return [
            {
                "status": job.status,
                "priority": job.priority,
                "claimed": job.claimed_at is not None,
                "claimed_recently": job.claimed_at is None
                or abs(datetime.now(UTC) - job.claimed_at) < timedelta(seconds=30),
                "taken": job.robot_id is not None,
                "package_sha256": job.package_sha256,
                "parameters": job.parameters,
            }
            for job in rows
        ]


def comparable(answer: ConsumeResponse) -> dict[str, Any]:
    body = answer.model_dump(by_alias=True)
    if body["Job"]:
        body["Job"] = {k: v for k, v in json.loads(body["Job"]).items() if k not in JOB_VARYING}
        version = json.loads(body["ProcessVersion"])
        body["ProcessVersion"] = {k: v for k, v in version.items() if k not in VERSION_VARYING}
    return body


def consume_both(service: Service, lean: Twin, full: Twin) -> ConsumeResponse:
    return consume_pair(service, lean, full)[0]


def consume_pair(
    service: Service, lean: Twin, full: Twin
) -> tuple[ConsumeResponse, ConsumeResponse]:
    """`lean` consumes through the lean path (which must answer), `full` through the session
    path; answers and rows must match."""
    runtime = service.runtime
    first = lean_consume(runtime, robot_caller(service, lean.robot), _request(lean.robot))
    assert first is not None, "the lean path answers this case"
    second = robot_protocol.session_consume_next_job(
        runtime, robot_caller(service, full.robot), _request(full.robot)
    )
    assert comparable(first) == comparable(second)
    assert job_rows(service, lean.tenant.guid) == job_rows(service, full.tenant.guid)
    mine, theirs = robot_row(service, lean.robot), robot_row(service, full.robot)
    assert mine["status"] == theirs["status"]
    assert mine["last_heartbeat_at"] is not None and theirs["last_heartbeat_at"] is not None
    return first, second


def _request(robot: str) -> ConsumeRequest:
    return ConsumeRequest.model_validate({"RobotGUID": robot})


def _end_held_job(twin: Twin, answer: ConsumeResponse) -> None:
    guid = json.loads(answer.job)["GUID"]
    with twin.tenant.client(**robot_auth(twin.robot)) as robot:
        for status in (8, 4):  # In Progress, then Success
            response = robot.put("/api/job/update", json={"GUID": guid, "Status": status})
            assert response.status_code == 200, response.text


def test_no_job_and_a_job_are_answered_and_claimed_alike(store_tenant: Tenant) -> None:
    service = store_tenant.service
    lean, full = twin(service), twin(service)
    assert robot_row(service, lean.robot)["status"] == RobotStatus.DISCONNECTED
    nothing = consume_both(service, lean, full)
    assert (nothing.consume_job_error_code, nothing.error_text) == (
        ConsumeCode.NO_NEW_JOB,
        "no new job",
    )
    assert robot_row(service, lean.robot)["status"] == RobotStatus.READY  # over Disconnected
    for each in (lean, full):
        create_job(
            each.tenant.api,
            each.process,
            Robot=each.robot,
            Parameters={"name": "Иван", "n": 3},
            Priority=3,
        )
    given = consume_both(service, lean, full)
    assert given.consume_job_error_code == ConsumeCode.JOB_GIVEN
    assert given.task == "{}"
    job, version = json.loads(given.job), json.loads(given.process_version)
    assert job["Parameters"] == {"name": "Иван", "n": 3} and job["Priority"] == 3
    assert version["Sha256"] == job_rows(service, lean.tenant.guid)[0]["package_sha256"]
    # The version's document is cached as the session path caches it.
    assert service.runtime.documents.get(version["Id"]) is not None


def _group_with(tenant: Tenant, robot: str | None) -> str:
    group = tenant.api.post("/api/robotGroup/create", json={"Name": f"g-{robot}"})
    assert group.status_code == 200, group.text
    guid = str(group.json()["GUID"])
    if robot is not None:
        added = tenant.api.put(
            "/api/robotGroup/addRobot", json={"RobotGroupGuid": guid, "RobotGuid": robot}
        )
        assert added.status_code == 200, added.text
    return guid


def test_jobs_are_taken_in_the_dispatch_order(store_tenant: Tenant) -> None:
    service = store_tenant.service
    lean, full = twin(service), twin(service)
    for each in (lean, full):
        api, process = each.tenant.api, each.process
        mine, theirs = _group_with(each.tenant, each.robot), _group_with(each.tenant, None)
        create_job(api, process, Priority=1, Parameters={"label": "A"})  # anyone's
        create_job(api, process, Robot=make_robot(api), Priority=3)  # another robot's
        create_job(api, process, Robot=each.robot, Priority=2, Parameters={"label": "B"})
        create_job(api, process, Priority=3, Parameters={"label": "C"})
        create_job(api, process, RobotGroup=mine, Priority=3, Parameters={"label": "D"})
        create_job(api, process, RobotGroup=theirs, Priority=3)  # a group it is not in
    taken = []
    while True:
        first, second = consume_pair(service, lean, full)
        if first.consume_job_error_code != ConsumeCode.JOB_GIVEN:
            break
        taken.append(json.loads(first.job)["Parameters"]["label"])
        _end_held_job(lean, first)
        _end_held_job(full, second)
    assert taken == ["C", "D", "B", "A"]


def _unchanged_fallback(service: Service, lean: Twin, *, robot_guid: str | None = None) -> None:
    """The lean path leaves the call with nothing written; the session path then answers."""
    before = (robot_row(service, lean.robot), job_rows(service, lean.tenant.guid))
    data = ConsumeRequest.model_validate({"RobotGUID": robot_guid or lean.robot})
    assert lean_consume(service.runtime, robot_caller(service, lean.robot), data) is None
    assert (robot_row(service, lean.robot), job_rows(service, lean.tenant.guid)) == before


def test_other_cases_fall_back_with_nothing_written(store_tenant: Tenant) -> None:
    service = store_tenant.service
    # Switched off.
    off = twin(service, Active=False)
    create_job(off.tenant.api, off.process, Robot=off.robot)
    _unchanged_fallback(service, off)
    answer = robot_protocol.consume_next_job(
        service.runtime, robot_caller(service, off.robot), _request(off.robot)
    )
    assert answer.error_text == "the robot is switched off"
    # Another robot named: the session path refuses it.
    plain = twin(service)
    _unchanged_fallback(service, plain, robot_guid=make_robot(plain.tenant.api))
    # Busy: it holds the job it took.
    create_job(plain.tenant.api, plain.process, Robot=plain.robot)
    create_job(plain.tenant.api, plain.process, Robot=plain.robot)
    first = robot_protocol.consume_next_job(
        service.runtime, robot_caller(service, plain.robot), _request(plain.robot)
    )
    assert first.consume_job_error_code == ConsumeCode.JOB_GIVEN
    _unchanged_fallback(service, plain)
    # A job with a default task, and a Robocorp version's job: the session path hands them.
    tasked = twin(service)
    queue = tasked.tenant.api.post("/api/queue/create", json={"Name": "q"}).json()["guid"]
    task = tasked.tenant.api.post("/api/task/create", json={"Queue": queue, "Name": "t"})
    assert task.status_code == 200, task.text
    create_job(tasked.tenant.api, tasked.process, Robot=tasked.robot, Task=task.json()["guid"])
    _unchanged_fallback(service, tasked)
    given = robot_protocol.consume_next_job(
        service.runtime, robot_caller(service, tasked.robot), _request(tasked.robot)
    )
    assert json.loads(given.task)["guid"] == task.json()["guid"]
    robocorp = twin(service)
    create_job(robocorp.tenant.api, robocorp.process, Robot=robocorp.robot)
    with service.runtime.db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE process_versions SET kind = 'robocorp' WHERE process_id = "
                "(SELECT id FROM processes WHERE guid = :guid)"
            ),
            {"guid": robocorp.process},
        )
    service.runtime.documents.invalidate()
    _unchanged_fallback(service, robocorp)
    given = robot_protocol.consume_next_job(
        service.runtime, robot_caller(service, robocorp.robot), _request(robocorp.robot)
    )
    assert "Robocorp" in json.loads(given.job)


def test_the_front_and_wait_job_answer_on_the_driver_pool(store_service: Service) -> None:
    service = store_service
    pool = service.runtime.driver_pool
    one = 1 if pool is not None else 0
    tenant = make_tenant(service)
    process = make_process(tenant.api)
    robot = make_robot(tenant.api)
    with tenant.client(**robot_auth(robot)) as robot_api:
        # The front answers a caller whose credentials it has seen (the principal cache).
        robot_api.post("/api/robot/heartbeat", json={"RobotGUID": robot})
        counted = Counted(pool)
        nothing = robot_api.post("/api/robot/consumeNextJob", json={"RobotGUID": robot})
        assert nothing.json()["ConsumeJobErrorCode"] == ConsumeCode.NO_NEW_JOB
        assert counted.since() == one
        create_job(tenant.api, process, Robot=robot)
        counted.since()
        given = robot_api.post("/api/robot/consumeNextJob", json={"RobotGUID": robot})
        assert given.json()["ConsumeJobErrorCode"] == ConsumeCode.JOB_GIVEN
        assert counted.since() == one
        # Busy: the statement runs, writes nothing, and the session path answers.
        busy = robot_api.post("/api/robot/consumeNextJob", json={})
        assert busy.json()["ErrorText"].startswith("the robot already holds job")
        assert counted.since() == one
        guid = json.loads(given.json()["Job"])["GUID"]
        for status in (8, 4):
            robot_api.put("/api/job/update", json={"GUID": guid, "Status": status})
        create_job(tenant.api, process, Robot=robot)
        counted.since()
        waited = robot_api.post("/api/robot/waitJob", json={"RobotGUID": robot, "Timeout": 1})
        assert waited.json()["ConsumeJobErrorCode"] == ConsumeCode.JOB_GIVEN
        assert counted.since() == one  # no robot lookup, one claim


def test_a_job_taken_for_a_robot_that_left_goes_back(store_service: Service) -> None:
    service = store_service
    pool = service.runtime.driver_pool
    tenant = make_tenant(service)
    robot = make_robot(tenant.api)
    job = create_job(tenant.api, make_process(tenant.api), Robot=robot)
    caller = robot_caller(service, robot)
    counted = Counted(pool)

    async def gone() -> None:
        return None

    async def wait() -> ConsumeResponse:
        data = WaitJobRequest.model_validate({"RobotGUID": robot, "Timeout": 5})
        return await robot_protocol.wait_job(service.runtime, caller, data, client_gone=gone)

    answer = service.admin.portal.call(wait)
    assert answer.consume_job_error_code == ConsumeCode.JOB_GIVEN
    assert counted.since() == (1 if pool is not None else 0)
    [row] = job_rows(service, tenant.guid)
    assert not row["claimed"] and row["status"] == 1
    with service.runtime.db.read() as session:
        requested = session.scalar(select(JobRow.robot_id).where(JobRow.guid == job["guid"]))
        robot_id = session.scalar(select(RobotRow.id).where(RobotRow.guid == robot))
    assert requested == robot_id  # back to the robot it was created for


def test_concurrent_consumes_of_one_robot_claim_one_job(store_service: Service) -> None:
    """The busy check holds across concurrent calls: the robot row lock and the gate's
    snapshot check (PostgreSQL), the group writer's turns (SQLite)."""
    service = store_service
    tenant = make_tenant(service)
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    for _ in range(4):
        create_job(tenant.api, process, Robot=robot)
    caller = robot_caller(service, robot)

    async def race() -> list[ConsumeResponse]:
        data = _request(robot)
        calls = [robot_protocol.consume_on_loop(service.runtime, caller, data) for _ in range(4)]
        return list(await asyncio.gather(*calls))

    answers = service.admin.portal.call(race)
    given = [a for a in answers if a.consume_job_error_code == ConsumeCode.JOB_GIVEN]
    assert len(given) == 1, answers
    assert all(
        a.error_text.startswith("the robot already holds job") for a in answers if a not in given
    )
    assert sum(row["claimed"] for row in job_rows(service, tenant.guid)) == 1


def test_wait_job_of_a_deleted_robot_is_not_found(store_service: Service) -> None:
    """waitJob takes a robot's ids from its credentials without a lookup: a robot deleted
    since is still answered "not found", by the consume."""
    service = store_service
    tenant = make_tenant(service)
    robot = make_robot(tenant.api)
    caller = robot_caller(service, robot)
    assert tenant.api.delete(f"/api/robot/delete/{robot}").status_code == 200

    async def wait() -> ConsumeResponse:
        data = WaitJobRequest.model_validate({"Timeout": 5})
        return await robot_protocol.wait_job(service.runtime, caller, data)

    answer = service.admin.portal.call(wait)
    assert (answer.consume_job_error_code, answer.error_text) == (
        ConsumeCode.ROBOT_NOT_FOUND,
        "robot GUID not found",
    )
