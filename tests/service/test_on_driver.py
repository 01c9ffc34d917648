"""On PostgreSQL the front answers a robot's take (naming its job or not), finish and renew
with one statement on the async driver pool (services.tasks.on_driver): the pool's statement
count shows it, one statement per request. On SQLite there is no pool and the front's threads
answer. The bodies are the session path's: tests/acceptance/test_fast_front_wire.py compares
them over the wire with the front off."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.testclient import TestClient

from robofleet.server.db.driver_pool import DriverPool
from robofleet.server.schemas.robots import HeartbeatRequest
from robofleet.server.services.jobs import robot_protocol
from robofleet.server.services.resources import crud
from tests.service.conftest import Service, robot_caller
from tests.service.lean_paths import settled_queue
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import add
from tests.support.resources import create_resource

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Counted:
    """Statements the driver pool ran since the last look (0 without a pool)."""

    def __init__(self, pool: DriverPool | None) -> None:
        self.pool = pool
        self.seen = pool.statements if pool else 0

    def since(self) -> int:
        if self.pool is None:
            return 0
        ran, self.seen = self.pool.statements - self.seen, self.pool.statements
        return ran


def _post(client: TestClient, path: str, status: int = 200, **body: Any) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _running_job(service: Service, robot: str) -> str:
    robot_api = service.client(**robot_auth(robot))
    create_job(service.admin, make_process(service.admin), Robot=robot)
    consumed = _post(robot_api, "/api/robot/consumeNextJob", RobotGUID=robot)
    found = GUID.search(consumed["Job"])
    assert found is not None, consumed
    response = robot_api.put("/api/job/update", json={"GUID": found.group(0), "Status": 8})
    assert response.status_code == 200, response.text  # In Progress: the robot's running job
    return found.group(0)


def test_take_renew_finish_are_one_statement_on_the_driver(store_service: Service) -> None:
    service = store_service
    pool = service.runtime.driver_pool
    postgres = service.runtime.db.dialect.one_statement_claims
    assert (pool is not None) == postgres
    one = 1 if postgres else 0
    api = service.admin
    queue = settled_queue(service, api)
    for n in range(12):
        add(api, queue, f"t{n}")
    robot, stranger = make_robot(api), make_robot(api)
    robot_api = service.client(**robot_auth(robot))
    stranger_api = service.client(**robot_auth(stranger))
    job = _running_job(service, robot)
    _running_job(service, stranger)  # warms the stranger's credentials too
    _post(api, "/api/task/take", Queue=queue, Count=0, status=422)
    _post(api, "/api/task/take", Queue="no-such-queue", status=404)
    # The first take caches the queue (the session path answers it).
    _post(robot_api, "/api/task/take", Queue=queue, Job=job)
    counted = Counted(pool)

    taken = _post(robot_api, "/api/task/take", Queue=queue, Job=job)["tasks"]
    assert [t["job_guid"] for t in taken] == [job] and counted.since() == one
    by_id = _post(robot_api, "/api/task/take", Queue=queue, Job=taken[0]["job_id"], Count=2)
    assert [t["job_guid"] for t in by_id["tasks"]] == [job, job] and counted.since() == one
    # An API key names any job of its account.
    keyed = _post(api, "/api/task/take", Queue=queue, Job=job.upper())["tasks"]
    assert [t["job_guid"] for t in keyed] == [job] and counted.since() == one
    # Naming none, a robot's tasks link to its running job.
    unnamed = _post(robot_api, "/api/task/take", Queue=queue)["tasks"]
    assert [t["job_guid"] for t in unnamed] == [job] and counted.since() == one

    task = taken[0]
    renewed = _post(
        robot_api, "/api/task/renew", Guid=task["guid"], LeaseId=task["lease_id"], LeaseSeconds=900
    )
    [result] = renewed["results"]
    assert result["ok"] and result["guid"] == task["guid"] and counted.since() == one
    expires = datetime.fromisoformat(result["task"]["lease_expires_at"])
    assert expires > datetime.fromisoformat(task["lease_expires_at"])
    assert result["task"]["lease_id"] == task["lease_id"]

    finish = {"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2, "Output": {"a": 1}}
    done = _post(robot_api, "/api/task/finish", **finish)
    assert (done["status"], done["output"], done["job_guid"]) == (2, {"a": 1}, job)
    assert counted.since() == one
    # A retried finish: the statement changes nothing, the session path answers the retry.
    assert _post(robot_api, "/api/task/finish", **finish) == done
    assert counted.since() == one

    # The SDK's batches (Items): one statement per lease and length the renews share, per
    # finish with an output, and per status and lease for the plain finishes.
    batch = _post(robot_api, "/api/task/take", Queue=queue, Job=job, Count=3)["tasks"]
    assert len(batch) == 3 and counted.since() == one
    leases = [{"Guid": t["guid"], "LeaseId": t["lease_id"]} for t in batch]
    renewed_all = _post(robot_api, "/api/task/renew", Items=leases)["results"]
    assert [(r["guid"], r["ok"]) for r in renewed_all] == [(t["guid"], True) for t in batch]
    assert [r["task"]["lease_id"] for r in renewed_all] == [t["lease_id"] for t in batch]
    assert counted.since() == one
    # Two takes' leases, one with its own length, in the order asked: one statement each.
    other = _post(robot_api, "/api/task/take", Queue=queue, Job=job)["tasks"][0]
    counted.since()
    mixed_leases = [leases[1], {"Guid": other["guid"], "LeaseId": other["lease_id"]}, leases[0]]
    mixed_leases[1]["LeaseSeconds"] = 1200
    renewed_mixed = _post(robot_api, "/api/task/renew", Items=mixed_leases)["results"]
    assert [r["guid"] for r in renewed_mixed] == [batch[1]["guid"], other["guid"], batch[0]["guid"]]
    first, longer, _ = (
        datetime.fromisoformat(r["task"]["lease_expires_at"]) for r in renewed_mixed
    )
    assert (longer - first).total_seconds() > 600  # 1,200 s against the queue's 300
    assert counted.since() == 2 * one
    _post(
        robot_api,
        "/api/task/finish",
        Guid=other["guid"],
        LeaseId=other["lease_id"],
        Status=2,
    )
    counted.since()
    finishes = [
        {**leases[0], "Status": 2, "Output": {"b": 1}},
        *({**x, "Status": 2} for x in leases[1:]),
    ]
    results = _post(robot_api, "/api/task/finish", Items=finishes)["results"]
    assert [(r["guid"], r["ok"]) for r in results] == [(t["guid"], True) for t in batch]
    assert counted.since() == 2 * one
    # One lease lost: the session path judges each item (what was finished is finished alike).
    mixed = [finishes[1], {**finishes[2], "LeaseId": task["lease_id"]}]
    judged = _post(robot_api, "/api/task/finish", Items=mixed)["results"]
    assert [(r["ok"], r["code"]) for r in judged] == [(True, ""), (False, "lease_lost")]
    assert counted.since() == one
    lost_items = _post(robot_api, "/api/task/renew", Items=leases[:1])["results"]
    assert [(r["ok"], r["code"]) for r in lost_items] == [(False, "lease_lost")]
    assert counted.since() == one

    # What the statement cannot tell, the session path does: its 404 and 409 bodies.
    missing = _post(robot_api, "/api/task/take", Queue=queue, Job=999_999_999, status=404)
    assert missing["code"] == "not_found" and counted.since() == one
    # A robot sees only its own jobs: another robot's job is unknown to it.
    _post(stranger_api, "/api/task/take", Queue=queue, Job=job, status=404)
    assert counted.since() == one
    lost = _post(
        robot_api, "/api/task/renew", Guid=task["guid"], LeaseId=task["lease_id"], status=409
    )
    assert lost["code"] == "lease_lost" and counted.since() == one
    # A failure its queue does not retry is one statement too (one it retries:
    # tests/service/test_lean_failures.py).
    other = by_id["tasks"][0]
    _post(robot_api, "/api/task/finish", Guid=other["guid"], LeaseId=other["lease_id"], Status=3)
    assert counted.since() == one


def test_heartbeat_and_resource_read_are_one_statement_on_the_driver(
    store_service: Service,
) -> None:
    """Through the front: on PostgreSQL a robot's heartbeat (holding no job) and its resource
    read are one statement each on the pool, and answer what the session path answers."""

    service = store_service
    pool = service.runtime.driver_pool
    one = 1 if pool is not None else 0
    api = service.admin
    robot, idle = make_robot(api), make_robot(api)
    robot_api = service.client(**robot_auth(robot))
    name = f"Login-{robot[:8]}"
    guid = create_resource(api, name, Type=1, Text="user", Password="S3cret!", RobotId=robot)
    _post(robot_api, "/api/robot/heartbeat", RobotGUID=robot, Status=1)  # caches the robot
    counted = Counted(pool)

    beat = _post(robot_api, "/api/robot/heartbeat", RobotGUID=robot, Status=1, Machine="m1")
    assert counted.since() == one
    request = HeartbeatRequest.model_validate({"RobotGUID": idle, "Status": 1, "Machine": "m1"})
    session = robot_protocol.session_heartbeat(
        service.runtime, robot_caller(service, idle), request
    )
    assert beat == session.model_dump(by_alias=True, mode="json")
    # Another robot named: not the common case, nothing run on the pool, the 403 as before.
    response = robot_api.post("/api/robot/heartbeat", json={"RobotGUID": idle, "Status": 1})
    assert response.status_code == 403 and counted.since() == 0

    for ref in (guid, name):
        read = robot_api.get(f"/api/asset/read/{ref}")
        assert read.status_code == 200, read.text
        assert counted.since() == one
        expected = crud.session_read_resource(service.runtime, robot_caller(service, robot), ref)
        assert read.json() == expected.model_dump(by_alias=True, mode="json")
        assert read.json()["password"] == "S3cret!"
    missing = robot_api.get("/api/asset/read/no-such-resource")
    assert missing.status_code == 404 and counted.since() == one  # found nothing: session path


def test_a_lean_take_records_the_move_from_new(store_service: Service) -> None:
    """The take's history entry says New -> In Progress, as the session path's does."""
    api = store_service.admin
    queue = settled_queue(store_service, api)
    task = add(api, queue, "h")  # the add caches the queue: the take is lean
    counted = Counted(store_service.runtime.driver_pool)
    _post(api, "/api/task/take", Queue=queue)
    assert counted.since() == (1 if store_service.runtime.driver_pool else 0)
    history = api.get(f"/api/task/history/{task['guid']}").json()
    assert [(e["from_status"], e["to_status"]) for e in history] == [(None, 0), (0, 1)]
