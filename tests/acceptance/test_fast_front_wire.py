"""The lean front answers over the wire exactly as FastAPI does.

Two real servers per store, one with the front (the default) and one with
ROBOFLEET_FAST_PATH=false, each on its own database, get the same scenario: every hot
operation with good requests and bad ones (missing field, wrong type, unknown queue, bad
credentials, broken JSON), form-encoded and JSON, PascalCase and snake_case keys. Statuses
and bodies must be equal once the values that differ between two databases (GUIDs, ids,
times, the error timestamp) are replaced by placeholders; a few answers are also checked
against what the API documents."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import BACKENDS, Tenant, database_url, make_tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.server import ServerProcess

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
LOGIN = re.compile(r"\bt-[0-9a-f]{10}\b")  # make_tenant's account login
EPOCH = re.compile(r"\b1[5-9]\d{8}(\d{3})?\b")
ID_KEY = re.compile(r"(^|_)id$|Id$|^ID$")


@dataclass
class Pair:
    fast: ServerProcess
    plain: ServerProcess


@pytest.fixture(scope="module", params=BACKENDS)
def pair(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_url_factory: list[str],
) -> Iterator[Pair]:
    backend: str = request.param
    servers = [
        ServerProcess(
            data_dir=tmp_path_factory.mktemp(f"front-{backend}-{fast}"),
            database_url=database_url(backend, pg_url_factory),
            env={"ROBOFLEET_FAST_PATH": fast},
        ).start()
        for fast in ("true", "false")
    ]
    yield Pair(*servers)
    for server in servers:
        server.stop()


def normalised(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: normalised(v, k) for k, v in value.items() if k != "timestamp"}
    if isinstance(value, list):
        return [normalised(v, key) for v in value]
    if isinstance(value, str):
        value = LOGIN.sub("<login>", GUID.sub("<guid>", value))
        return EPOCH.sub("<epoch>", TIME.sub("<time>", value))
    if isinstance(value, int) and not isinstance(value, bool):
        if ID_KEY.search(key):
            return "<id>"
        if EPOCH.fullmatch(str(value)):
            return "<epoch>"
    return value


Exchange = tuple[str, int, Any]


def scenario(tenant: Tenant) -> list[Exchange]:
    """Every hot operation, good and bad; what came back, in order."""
    api = tenant.api
    robot = make_robot(api, "wire-robot")
    other_robot = make_robot(api, "wire-robot-2")
    process = make_process(api, "wire-process", script="print('hi')\n")
    assert api.post("/api/queue/create", json={"Name": "wire"}).is_success
    assert api.post("/api/asset/create", json={"Name": "wire-asset", "Text": "t"}).is_success
    robot_api = tenant.client(**robot_auth(robot))
    stranger = tenant.client(Key=str(uuid.uuid4()))
    seen: list[Exchange] = []

    def send(label: str, client: httpx.Client, method: str, path: str, **kw: Any) -> Any:
        response = client.request(method, path, **kw)
        body = response.json() if response.content else None
        seen.append((label, response.status_code, body))
        return body

    # The first call of each credential fills the principal cache (FastAPI answers it).
    send("warm key", api, "POST", "/api/task/take", json={"Queue": "wire"})
    send("warm robot", robot_api, "POST", "/api/robot/heartbeat", json={"RobotGUID": robot})

    # Task add, single and bulk.
    send("create json", api, "POST", "/api/task/create", json={"Queue": "wire", "Name": "a"})
    send("create form", api, "POST", "/api/task/create", data={"queue": "wire", "name": "b"})
    send(
        "create keyed",
        api,
        "POST",
        "/api/task/create",
        json={"Queue": "wire", "Name": "c", "Priority": 1},
        headers={"Idempotency-Key": "wire-key-1"},
    )
    send(
        "create keyed again",
        api,
        "POST",
        "/api/task/create",
        json={"Queue": "wire", "Name": "c", "Priority": 1},
        headers={"Idempotency-Key": "wire-key-1"},
    )
    send("create missing", api, "POST", "/api/task/create", json={"Name": "x"})
    send(
        "create unknown queue", api, "POST", "/api/task/create", json={"Queue": "nope", "Name": "x"}
    )
    send(
        "create wrong type", api, "POST", "/api/task/create", json={"Queue": "wire", "Name": ["x"]}
    )
    send(
        "create stranger", stranger, "POST", "/api/task/create", json={"Queue": "wire", "Name": "x"}
    )
    send(
        "create broken json",
        api,
        "POST",
        "/api/task/create",
        content=b'{"Queue": ',
        headers={"Content-Type": "application/json"},
    )
    send(
        "bulk",
        api,
        "POST",
        "/api/task/bulkCreate",
        json={"Queue": "wire", "Tasks": [{"Name": "d"}, {"Name": "e"}]},
    )
    send("bulk empty body", api, "POST", "/api/task/bulkCreate", content=b"")

    # Take, renew, finish.
    first = send("take json", api, "POST", "/api/task/take", json={"Queue": "wire", "Count": 1})
    second = send("take form", api, "POST", "/api/task/take", data={"queue": "wire", "count": "2"})
    send("take wrong type", api, "POST", "/api/task/take", json={"Queue": "wire", "Count": "many"})
    send("take unknown queue", api, "POST", "/api/task/take", json={"Queue": "nope"})
    send("take stranger", stranger, "POST", "/api/task/take", json={"Queue": "wire"})
    task = first["tasks"][0]
    send(
        "renew",
        api,
        "POST",
        "/api/task/renew",
        json={"Guid": task["guid"], "LeaseId": task["lease_id"], "LeaseSeconds": 60},
    )
    send("renew missing", api, "POST", "/api/task/renew", json={"Guid": task["guid"]})
    send(
        "finish json",
        api,
        "POST",
        "/api/task/finish",
        json={"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2, "Output": {"n": 1}},
    )
    send(
        "finish again other outcome",
        api,
        "POST",
        "/api/task/finish",
        json={"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 3},
    )
    other = second["tasks"][0]
    send(
        "finish form snake",
        api,
        "POST",
        "/api/task/finish",
        data={"guid": other["guid"], "lease_id": other["lease_id"], "status": "4"},
    )
    send(
        "finish bad status",
        api,
        "POST",
        "/api/task/finish",
        json={"Guid": other["guid"], "LeaseId": other["lease_id"], "Status": 99},
    )
    last = second["tasks"][1]
    send(
        "finish items",
        api,
        "POST",
        "/api/task/finish",
        json={"Items": [{"Guid": last["guid"], "LeaseId": last["lease_id"], "Status": 2}]},
    )

    # The robot protocol.
    send("heartbeat form", robot_api, "POST", "/api/robot/heartbeat", data={"RobotGUID": robot})
    send(
        "heartbeat snake",
        robot_api,
        "POST",
        "/api/robot/heartbeat",
        json={"robot_guid": robot, "status": 2, "machine": "WIN-01", "ip": "10.0.0.5"},
    )
    send(
        "heartbeat other robot",
        robot_api,
        "POST",
        "/api/robot/heartbeat",
        json={"RobotGUID": other_robot},
    )
    send("heartbeat wrong type", robot_api, "POST", "/api/robot/heartbeat", json={"Status": "x"})
    send(
        "consume nothing", robot_api, "POST", "/api/robot/consumeNextJob", data={"RobotGUID": robot}
    )
    create_job(api, process, Robot=robot)
    job = send("consume", robot_api, "POST", "/api/robot/consumeNextJob", json={"RobotGUID": robot})
    job_guid = GUID.search(job["Job"])
    assert job_guid is not None, job
    robot_tasks(send, api, robot_api, job_guid.group(0))
    send(
        "job update put",
        robot_api,
        "PUT",
        "/api/job/update",
        json={"GUID": job_guid.group(0), "Status": 8, "Progress": 10},
    )
    send(
        "job update post form",
        robot_api,
        "POST",
        "/api/job/update",
        data={"guid": job_guid.group(0), "progress": "50", "message": "half"},
    )
    send(
        "job update bad transition",
        robot_api,
        "PUT",
        "/api/job/update",
        json={"GUID": job_guid.group(0), "Status": 1},
    )
    send("job update missing", robot_api, "PUT", "/api/job/update", json={"Status": 5})
    send(
        "wait job",
        robot_api,
        "POST",
        "/api/robot/waitJob",
        json={"RobotGUID": robot, "Timeout": 1},
    )
    send("wait job bad timeout", robot_api, "POST", "/api/robot/waitJob", json={"Timeout": 0})

    # Log batch and resource read.
    send(
        "log batch",
        robot_api,
        "POST",
        "/api/log/batch",
        json={"Lines": [{"Message": "one", "Level": "Info"}, {"Message": "two"}]},
    )
    send("log batch bare list", robot_api, "POST", "/api/log/batch", json=[{"Message": "three"}])
    send("log batch bad", robot_api, "POST", "/api/log/batch", json={"Lines": "no"})
    send("asset read", robot_api, "GET", "/api/asset/read/wire-asset")
    send("asset read unknown", robot_api, "GET", "/api/asset/read/nothing-here")
    send("asset read by key", api, "GET", "/api/asset/read/wire-asset")
    job_creates(send, api, robot_api, stranger, process)
    # The robot's job updates are audited alike (who, from where, what changed).
    send("job audit", api, "GET", "/api/audit/list", params={"ObjectGuid": job_guid.group(0)})
    robot_api.close()
    stranger.close()
    return seen


def job_creates(
    send: Any, api: httpx.Client, robot_api: httpx.Client, stranger: httpx.Client, process: str
) -> None:
    """Job create, good and bad: its common case is lean (services.jobs.lean_create), the
    rest (a group, a task, what is not found) the session path's, behind the front alike."""
    assert api.post("/api/process/create", json={"Name": "wire-bare"}).is_success
    created = send(
        "job create",
        api,
        "POST",
        "/api/job/create",
        json={
            "Process": "wire-process",
            "Robot": "wire-robot-2",
            "Priority": 3,
            "Parameters": {"z": 1, "a": [None, {"b": "c"}]},
            "StopAfter": "2031-01-02T03:04:05Z",
            "AbortAfter": "2031-01-02T05:04:05+01:00",
        },
    )
    send("job create by guid", api, "POST", "/api/job/create", json={"Process": process})
    send(
        "job create by id form snake",
        api,
        "POST",
        "/api/job/create",
        data={"process_id": str(created["process_id"]), "robot": str(created["robot_id"])},
    )
    send("job create audit", api, "GET", "/api/audit/list", params={"ObjectGuid": created["guid"]})
    send("job create unknown", api, "POST", "/api/job/create", json={"Process": "nope"})
    send(
        "job create unknown robot",
        api,
        "POST",
        "/api/job/create",
        json={"Process": process, "Robot": str(uuid.uuid4())},
    )
    send("job create no version", api, "POST", "/api/job/create", json={"Process": "wire-bare"})
    send(
        "job create robot and group",
        api,
        "POST",
        "/api/job/create",
        json={"Process": process, "Robot": "wire-robot-2", "RobotGroup": "g"},
    )
    send(
        "job create unknown group",
        api,
        "POST",
        "/api/job/create",
        json={"Process": process, "RobotGroup": "g"},
    )
    send(
        "job create abort before stop",
        api,
        "POST",
        "/api/job/create",
        json={"Process": process, "StopAfter": "2031-01-02T03:04:05Z", "AbortAfter": "2030-01-01"},
    )
    send("job create missing", api, "POST", "/api/job/create", json={"Priority": 2})
    send(
        "job create bad priority",
        api,
        "POST",
        "/api/job/create",
        json={"Process": process, "Priority": 7},
    )
    send("job create stranger", stranger, "POST", "/api/job/create", json={"Process": process})
    send("job create by robot", robot_api, "POST", "/api/job/create", json={"Process": process})


def robot_tasks(send: Any, api: httpx.Client, robot_api: httpx.Client, job: str) -> None:
    """A robot's take naming its job (as the SDK does), renew and finish, good and bad: on
    PostgreSQL the front answers these on the async driver (services.tasks.on_driver)."""
    tasks = [{"Name": f"r{n}"} for n in range(8)]
    send("bulk robot", api, "POST", "/api/task/bulkCreate", json={"Queue": "wire", "Tasks": tasks})
    mine = send("take job", robot_api, "POST", "/api/task/take", json={"Queue": "wire", "Job": job})
    send(
        "take job form snake",
        robot_api,
        "POST",
        "/api/task/take",
        data={"queue": "wire", "job": job.upper(), "count": "2", "lease_seconds": "30"},
    )
    send(
        "take job unknown",
        robot_api,
        "POST",
        "/api/task/take",
        json={"Queue": "wire", "Job": 999999999},
    )
    send(
        "take job other",
        robot_api,
        "POST",
        "/api/task/take",
        json={"Queue": "wire", "Job": str(uuid.uuid4())},
    )
    send("take job name", robot_api, "POST", "/api/task/take", json={"Queue": "wire", "Job": "j"})
    send("take job empty", robot_api, "POST", "/api/task/take", json={"Queue": "wire", "Job": ""})
    send("take no job", robot_api, "POST", "/api/task/take", json={"Queue": "wire"})
    task = mine["tasks"][0]
    guid, lease = task["guid"], task["lease_id"]
    send("renew robot", robot_api, "POST", "/api/task/renew", json={"Guid": guid, "LeaseId": lease})
    send(
        "renew robot form",
        robot_api,
        "POST",
        "/api/task/renew",
        data={"guid": guid.upper(), "lease_id": lease.upper(), "lease_seconds": "45"},
    )
    send(
        "renew other lease",
        robot_api,
        "POST",
        "/api/task/renew",
        json={"Guid": guid, "LeaseId": str(uuid.uuid4())},
    )
    send(
        "renew unknown task",
        robot_api,
        "POST",
        "/api/task/renew",
        json={"Guid": str(uuid.uuid4()), "LeaseId": lease},
    )
    send(
        "renew items",
        robot_api,
        "POST",
        "/api/task/renew",
        json={"Items": [{"Guid": guid, "LeaseId": lease}]},
    )
    send(
        "renew bad seconds",
        robot_api,
        "POST",
        "/api/task/renew",
        json={"Guid": guid, "LeaseId": lease, "LeaseSeconds": 1},
    )
    done = {"Guid": guid, "LeaseId": lease, "Status": 2, "Output": [1, "x"]}
    send("finish robot", robot_api, "POST", "/api/task/finish", json=done)
    send("finish robot retried", robot_api, "POST", "/api/task/finish", json=done)
    send(
        "renew finished",
        robot_api,
        "POST",
        "/api/task/renew",
        json={"Guid": guid, "LeaseId": lease},
    )
    send(
        "finish unknown task",
        robot_api,
        "POST",
        "/api/task/finish",
        json={"Guid": str(uuid.uuid4()), "LeaseId": lease, "Status": 2},
    )
    batch = send(
        "take job batch",
        robot_api,
        "POST",
        "/api/task/take",
        json={"Queue": "wire", "Job": job, "Count": 2},
    )
    held = [{"Guid": t["guid"], "LeaseId": t["lease_id"]} for t in batch["tasks"]]
    send("renew batch", robot_api, "POST", "/api/task/renew", json={"Items": held})
    send(
        "renew batch one lost",
        robot_api,
        "POST",
        "/api/task/renew",
        json={"Items": [*held, {"Guid": guid, "LeaseId": lease}]},
    )
    send("renew batch empty", robot_api, "POST", "/api/task/renew", json={"Items": []})
    send(
        "finish batch",
        robot_api,
        "POST",
        "/api/task/finish",
        json={"Items": [{**held[0], "Status": 2, "Output": {"k": 1}}, {**held[1], "Status": 2}]},
    )
    send(
        "finish batch again, one lost",
        robot_api,
        "POST",
        "/api/task/finish",
        json={"Items": [{**held[1], "Status": 2}, {"Guid": guid, "LeaseId": "x", "Status": 2}]},
    )
    send(
        "finish batch invalid item",
        robot_api,
        "POST",
        "/api/task/finish",
        json={"Items": [{**held[1], "Status": 2}, {"Guid": guid, "Status": 2}]},
    )
    later = send(
        "take job again", robot_api, "POST", "/api/task/take", json={"Queue": "wire", "Job": job}
    )
    for index, outcome in enumerate(later["tasks"]):
        send(
            f"finish postponed {index}",
            robot_api,
            "POST",
            "/api/task/finish",
            json={
                "Guid": outcome["guid"],
                "LeaseId": outcome["lease_id"],
                "Status": 5,
                "PostponedUntil": "2030-01-02T03:04:05Z",
                "Error": {"Type": "Busy", "Message": "later"},
            },
        )
        send(
            f"finish postponed again {index}",
            robot_api,
            "POST",
            "/api/task/finish",
            json={"Guid": outcome["guid"], "LeaseId": outcome["lease_id"], "Status": 2},
        )


def test_the_front_answers_as_fastapi_does(pair: Pair) -> None:
    fast = make_tenant(pair.fast)
    plain = make_tenant(pair.plain)
    answered = scenario(fast)
    expected = scenario(plain)
    fast.api.close()
    plain.api.close()
    assert [label for label, _, _ in answered] == [label for label, _, _ in expected]
    for (label, status, body), (_, want_status, want_body) in zip(answered, expected, strict=True):
        assert (label, status) == (label, want_status), body
        assert normalised(body) == normalised(want_body), label

    by_label = {label: (status, body) for label, status, body in answered}
    assert by_label["create missing"][0] == 422
    assert by_label["create missing"][1]["details"] == [
        {"field": "Queue", "problem": "is required"}
    ]
    assert by_label["create stranger"][0] == 401
    assert by_label["create broken json"][0] == 400
    assert by_label["take unknown queue"][0] == 404
    assert by_label["take form"][1]["tasks"][0]["lease_id"]
    assert by_label["finish again other outcome"][0] == 409
    assert by_label["consume"][1]["ConsumeJobErrorCode"] == 0
    assert by_label["consume nothing"][1]["ConsumeJobErrorCode"] == 102
    assert by_label["log batch"][1] == {"count": 2}
    assert by_label["asset read unknown"][0] == 404
    assert by_label["take job"][1]["tasks"][0]["job_guid"] is not None
    assert [by_label[label][0] for label in ("take job unknown", "take job other")] == [404, 404]
    assert by_label["renew other lease"][0] == 409
    assert by_label["finish robot retried"] == by_label["finish robot"]
    assert [r["ok"] for r in by_label["renew batch one lost"][1]["results"]] == [True, True, False]
    assert [r["ok"] for r in by_label["finish batch again, one lost"][1]["results"]] == [
        True,
        False,
    ]
    assert by_label["job create"][0] == 200
    assert by_label["job create"][1]["robot_name"] == "wire-robot-2"
    assert list(by_label["job create"][1]["parameters"]) == ["z", "a"]
    assert by_label["job create by id form snake"][0] == 200
    assert by_label["job create audit"][1]["items"][0]["action"] == "create"
    assert [
        by_label[label][0]
        for label in (
            "job create unknown",
            "job create unknown robot",
            "job create no version",
            "job create robot and group",
            "job create unknown group",
            "job create abort before stop",
            "job create missing",
            "job create bad priority",
            "job create stranger",
        )
    ] == [404, 404, 409, 422, 404, 422, 422, 422, 401]
    audit = by_label["job audit"][1]
    assert audit["total"] >= 1 and audit["items"][0]["actor_kind"] == "robot", audit
