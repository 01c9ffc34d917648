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
import time
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
    if isinstance(value, bool):  # JSON's true is not 1, though Python's True == 1
        return f"<{str(value).lower()}>"
    if isinstance(value, int):
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
    task_adds(send, api, robot_api)

    # Take, renew, finish.
    first = send("take json", api, "POST", "/api/task/take", json={"Queue": "wire", "Count": 1})
    second = send("take form", api, "POST", "/api/task/take", data={"queue": "wire", "count": "2"})
    send("take wrong type", api, "POST", "/api/task/take", json={"Queue": "wire", "Count": "many"})
    send("take unknown queue", api, "POST", "/api/task/take", json={"Queue": "nope"})
    send("take stranger", stranger, "POST", "/api/task/take", json={"Queue": "wire"})
    filtered_takes(send, api)
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
    batch_take_and_finish(send, api)

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
    send(
        "consume nothing snake",
        robot_api,
        "POST",
        "/api/robot/consumeNextJob",
        json={"robot_guid": robot},
    )
    send(
        "consume other robot",
        robot_api,
        "POST",
        "/api/robot/consumeNextJob",
        json={"RobotGUID": other_robot},
    )
    send(
        "consume wrong type",
        robot_api,
        "POST",
        "/api/robot/consumeNextJob",
        json={"RobotGUID": ["x"]},
    )
    send("consume stranger", stranger, "POST", "/api/robot/consumeNextJob", json={})
    create_job(api, process, Robot=robot, Priority=3, Parameters={"name": "Иван", "n": 1})
    job = send("consume", robot_api, "POST", "/api/robot/consumeNextJob", json={"RobotGUID": robot})
    job_guid = GUID.search(job["Job"])
    assert job_guid is not None, job
    send("consume busy", robot_api, "POST", "/api/robot/consumeNextJob", json={})
    send("consume by key", api, "POST", "/api/robot/consumeNextJob", json={"RobotGUID": robot})
    other_api = tenant.client(**robot_auth(other_robot))
    send("warm other robot", other_api, "POST", "/api/robot/heartbeat", json={})
    create_job(api, process, Robot=other_robot)
    send("wait job given", other_api, "POST", "/api/robot/waitJob", json={"Timeout": 2})
    send(
        "wait job other robot",
        other_api,
        "POST",
        "/api/robot/waitJob",
        json={"RobotGUID": robot, "Timeout": 1},
    )
    send("wait job stranger", stranger, "POST", "/api/robot/waitJob", json={"Timeout": 1})
    other_api.close()
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
    job_updates(send, api, robot_api, tenant.client(**robot_auth(other_robot)), process, robot)

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
    log_batches(send, api, robot_api, job_guid.group(0), robot, other_robot)
    send("asset read", robot_api, "GET", "/api/asset/read/wire-asset")
    send("asset read unknown", robot_api, "GET", "/api/asset/read/nothing-here")
    send("asset read by key", api, "GET", "/api/asset/read/wire-asset")
    job_creates(send, api, robot_api, stranger, process)
    # The robot's job updates are audited alike (who, from where, what changed).
    send("job audit", api, "GET", "/api/audit/list", params={"ObjectGuid": job_guid.group(0)})
    robot_api.close()
    stranger.close()
    return seen


def log_batches(
    send: Any, api: httpx.Client, robot_api: httpx.Client, job: str, robot: str, other: str
) -> None:
    """A robot's batches for its job, as its agent sends them, and the cases the lean batch
    (services.logs.lean_batch) leaves to the session path; then the lines as stored."""
    version = api.get(f"/api/job/read/{job}").json()["process_version_guid"]
    shipped = [
        {
            "Level": level,
            "Message": f"step {n}",
            "Fields": {"stream": "stdout", "n": n},
            # Recent: the retention duty would purge an old line on one server sooner.
            "Time": round(time.time() - 30 + n, 6),
            "JobGUID": job,
            "ProcessVersionGUID": version,
        }
        for n, level in enumerate(("Info", "Warning", "Error"))
    ]
    send("log batch job", robot_api, "POST", "/api/log/batch", json={"Lines": shipped})
    send(
        "log batch job snake",
        robot_api,
        "POST",
        "/api/log/batch",
        json={"lines": [{"message": "s", "job_guid": job.upper(), "robot_guid": robot}]},
    )
    send(
        "log batch job mixed",
        robot_api,
        "POST",
        "/api/log/batch",
        json={"Lines": [{"Message": "in", "JobGUID": job}, {"Message": "out"}]},
    )
    for label, line in (
        ("unknown job", {"JobGUID": str(uuid.uuid4())}),
        ("other robot", {"RobotGUID": other}),
        ("bad version", {"JobGUID": job, "ProcessVersionGUID": str(uuid.uuid4())}),
        ("bad level", {"Level": "Loud"}),
        ("bad time", {"Time": "yesterday"}),
        ("nul", {"Fields": {"k": "a\u0000b"}}),
        ("screenshot not base64", {"Screenshot": "%%%"}),
    ):
        send(
            f"log batch {label}",
            robot_api,
            "POST",
            "/api/log/batch",
            json={"Lines": [{"Message": "ok"}, {"Message": label, **line}]},
        )
    send("log batch empty", robot_api, "POST", "/api/log/batch", json={"Lines": []})
    send("log batch key", api, "POST", "/api/log/batch", json={"Lines": [{"Message": "k"}]})
    send("log list", api, "GET", "/api/log/list", params={"Job": job, "Count": 100})
    send("log job", api, "GET", f"/api/job/read/{job}")


def job_updates(
    send: Any,
    api: httpx.Client,
    robot_api: httpx.Client,
    other_api: httpx.Client,
    process: str,
    robot: str,
) -> None:
    """A robot's reports on its own job (the lean update), and the ones left to the session
    path: refused moves, another robot's job, a job by id, Failed, an operator's call."""
    job = str(create_job(api, process, Robot=robot)["guid"])
    update = "/api/job/update"
    send("job update early success", robot_api, "PUT", update, json={"Guid": job, "Status": 4})
    send("job update start", robot_api, "PUT", update, json={"Guid": job, "Status": 8})
    send("job update again", robot_api, "PUT", update, json={"Guid": job, "Status": 8})
    send("job update other robot", other_api, "PUT", update, json={"Guid": job, "Progress": 5})
    send(
        "job update unknown",
        robot_api,
        "PUT",
        update,
        json={"Guid": str(uuid.uuid4()), "Status": 8},
    )
    send(
        "job update return value",
        robot_api,
        "POST",
        update,
        json={"Guid": job, "ReturnValue": '{"rows": 3}', "Message": "almost"},
    )
    send(
        "job update success",
        robot_api,
        "PUT",
        update,
        json={"Guid": job, "Status": 4, "Message": "done", "ReturnValue": "[1]"},
    )
    send("job update after end", robot_api, "PUT", update, json={"Guid": job, "Status": 8})
    send("job update read", api, "GET", f"/api/job/read/{job}")
    failed = str(create_job(api, process, Robot=robot)["guid"])
    send("job update failed start", robot_api, "PUT", update, json={"Guid": failed, "Status": 8})
    send("job update failed", robot_api, "PUT", update, json={"Guid": failed, "Status": 5})
    send("job update operator", api, "PUT", update, json={"Guid": failed, "Progress": 3})
    send("job update failed read", api, "GET", f"/api/job/read/{failed}")
    send("job update audit", api, "GET", "/api/audit/list", params={"ObjectGuid": job})
    other_api.close()


def task_adds(send: Any, api: httpx.Client, robot_api: httpx.Client) -> None:
    """A robot's and a key's task adds by queue GUID, good and bad: once the queue is cached
    the front adds them without the ORM (services.tasks.lean_add)."""
    created = api.post("/api/queue/create", json={"Name": "wire-adds"})
    assert created.is_success, created.text
    queue = created.json()["guid"]
    assert api.post(
        "/api/queue/create", json={"Name": "wire-unique", "UniqueTasks": True}
    ).is_success
    fields = {
        "Priority": 3,
        "Parameters": {"invoice": "INV-1", "lines": [1, 2.5, None], "note": "é"},
        "Tags": "b;a",
        "Description": "d",
        "Comment": "c",
        "Deadline": "2031-01-02T03:04:05Z",
        "Retries": 1,
    }
    for client, who in ((robot_api, "robot"), (api, "key")):
        send(
            f"adds {who} first",
            client,
            "POST",
            "/api/task/create",
            json={"Queue": queue, "Name": "a"},
        )
        send(
            f"adds {who} fields",
            client,
            "POST",
            "/api/task/create",
            json={"Queue": queue, "Name": "b", **fields},
        )
        send(
            f"adds {who} form postponed",
            client,
            "POST",
            "/api/task/create",
            data={"queue": queue, "name": "c", "postponed": "2031-01-02T03:04:05Z"},
        )
        send(
            f"adds {who} bad priority",
            client,
            "POST",
            "/api/task/create",
            json={"Queue": queue, "Name": "x", "Priority": 9},
        )
        send(
            f"adds {who} unknown queue",
            client,
            "POST",
            "/api/task/create",
            json={"Queue": str(uuid.uuid4()), "Name": "x"},
        )
        send(
            f"adds {who} bulk",
            client,
            "POST",
            "/api/task/bulkCreate",
            json={"Queue": queue, "Tasks": [{"Name": "d", **fields}, {"Name": "e"}]},
        )
        send(
            f"adds {who} bulk each with a bad one",
            client,
            "POST",
            "/api/task/bulkCreate",
            json={
                "Queue": queue,
                "Mode": "each",
                "Tasks": [{"Name": "f"}, {"Name": "g", "Priority": 0}, {"Tags": "t"}],
            },
        )
        send(
            f"adds {who} bulk all or nothing with a bad one",
            client,
            "POST",
            "/api/task/bulkCreate",
            json={"Queue": queue, "Tasks": [{"Name": "f"}, {"Name": "g", "Retries": -1}]},
        )
        send(
            f"adds {who} bulk empty",
            client,
            "POST",
            "/api/task/bulkCreate",
            json={"Queue": queue, "Tasks": []},
        )
        send(
            f"adds {who} bulk too large",
            client,
            "POST",
            "/api/task/bulkCreate",
            json={"Queue": queue, "Tasks": [{"Name": "z"}] * 10_001},
        )
        send(
            f"adds {who} bulk unknown queue",
            client,
            "POST",
            "/api/task/bulkCreate",
            json={"Queue": str(uuid.uuid4()), "Tasks": [{"Name": "x"}]},
        )
        send(
            f"adds {who} unique",
            client,
            "POST",
            "/api/task/create",
            json={"Queue": "wire-unique", "Name": who},
        )
        send(
            f"adds {who} unique again",
            client,
            "POST",
            "/api/task/create",
            json={"Queue": "wire-unique", "Name": who},
        )
        keyed_adds(send, client, who, queue, fields)
    # What was stored, as the queue's list reads it back (newest first).
    send("adds stored", api, "POST", "/api/task/filter/list", json={"Name": queue})


def keyed_adds(
    send: Any, client: httpx.Client, who: str, queue: str, fields: dict[str, Any]
) -> None:
    """Adds named by an Idempotency-Key (as the SDK sends every add): the first add lean, a
    retry answered with the same task, a key reused for other content refused (409 for one,
    per item in a bulk add), a bad key refused (422)."""

    def keyed(label: str, key: str, path: str, body: dict[str, Any]) -> Any:
        return send(
            f"adds {who} {label}", client, "POST", path, json=body, headers={"Idempotency-Key": key}
        )

    one = {"Queue": queue, "Name": "k", **fields}
    first = keyed("keyed", f"{who}-one", "/api/task/create", one)
    again = keyed("keyed retry", f"{who}-one", "/api/task/create", one)
    assert again["guid"] == first["guid"], (first, again)
    keyed("keyed reused", f"{who}-one", "/api/task/create", {**one, "Name": "other"})
    keyed("keyed bad key", "k" * 201, "/api/task/create", one)
    bulk = {
        "Queue": queue,
        "Mode": "each",
        "Tasks": [{"Name": "kb0", **fields}, {"Name": "bad", "Priority": 0}, {"Name": "kb2"}],
    }
    added = keyed("keyed bulk", f"{who}-bulk", "/api/task/bulkCreate", bulk)
    retried = keyed("keyed bulk retry", f"{who}-bulk", "/api/task/bulkCreate", bulk)
    assert retried["guids"] == added["guids"] and retried["existing"] == 2, (added, retried)
    other = {**bulk, "Tasks": [{"Name": "kb0"}, {"Name": "new"}, {"Name": "new2"}, {"Name": "x"}]}
    keyed("keyed bulk reused", f"{who}-bulk", "/api/task/bulkCreate", other)
    keyed(
        "keyed bulk all or nothing",
        f"{who}-all",
        "/api/task/bulkCreate",
        {"Queue": queue, "Tasks": [{"Name": "ka"}, {"Name": "kb"}]},
    )
    keyed(
        "keyed unique taken",
        f"{who}-unique",
        "/api/task/create",
        {"Queue": "wire-unique", "Name": who},
    )
    # The client's own task GUIDs: the first add lean, a retry answered with its task, a GUID
    # reused for other content refused, a GUID twice in one bulk add refused for the second.
    own = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wire-{who}"))
    guided = {"Queue": queue, "Name": "g", "Guid": own, **fields}
    add = "/api/task/create"
    send(f"adds {who} own guid", client, "POST", add, json=guided)
    send(f"adds {who} own guid retry", client, "POST", add, json=guided)
    send(f"adds {who} own guid reused", client, "POST", add, json={**guided, "Name": "h"})
    twice = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wire-twice-{who}"))
    repeated = {"Queue": queue, "Mode": "each", "Tasks": [{"Name": "t", "Guid": twice}] * 2}
    send(f"adds {who} own guid twice", client, "POST", "/api/task/bulkCreate", json=repeated)


def batch_take_and_finish(send: Any, api: httpx.Client) -> None:
    """A take of several tasks (the front renders its list itself) and batch finishes in
    every spelling, the plain items (read without the model) beside others."""
    queue = "wire-batch"
    assert api.post("/api/queue/create", json={"Name": queue}).is_success
    tasks = [
        {"Name": "p1", "Parameters": {"n": 1, "s": "ünï ✓", "f": 1.5, "l": [True, None]}},
        {"Name": "p2", "Priority": 3, "Tags": "eu;vip", "Deadline": "2030-01-02 03:04:05"},
        {"Name": "p3", "Description": "d", "Comment": 'quote " here'},
        {"Name": "p4"},
        {"Name": "p5"},
    ]
    send("batch add", api, "POST", "/api/task/bulkCreate", json={"Queue": queue, "Tasks": tasks})
    taken = send("batch take", api, "POST", "/api/task/take", json={"Queue": queue, "Count": 5})
    t = {task["name"]: task for task in taken["tasks"]}
    items = [
        {"Guid": t["p1"]["guid"].upper(), "LeaseId": t["p1"]["lease_id"], "Status": 2},
        {"guid": t["p2"]["guid"], "lease_id": f" {t['p2']['lease_id']} ", "status": 4},
        {"GUID": t["p3"]["guid"], "LeaseID": t["p3"]["lease_id"], "Status": 2, "Output": "ok"},
    ]
    send("batch finish mixed", api, "POST", "/api/task/finish", json={"Items": items})
    items = [
        {"Guid": t["p4"]["guid"], "LeaseId": t["p4"]["lease_id"], "Status": 2},
        {"Guid": t["p5"]["guid"], "LeaseId": "not-the-lease", "Status": 2},
        {"Guid": t["p5"]["guid"], "LeaseId": t["p5"]["lease_id"], "Status": "2"},
    ]
    send("batch finish judged", api, "POST", "/api/task/finish", json={"Items": items})
    send("batch stored", api, "POST", "/api/task/filter/list", json={"Name": queue})


def filtered_takes(send: Any, api: httpx.Client) -> None:
    """Takes narrowed by tags, name, priority and age (lean up to four tags: its filter's
    values bound; more tags: the statement built per call)."""
    assert api.post("/api/queue/create", json={"Name": "wire-filter"}).is_success
    tasks = [
        {"Name": "INV-1", "Tags": "eu;paid", "Priority": 1},
        {"Name": "INV-2", "Tags": "us", "Priority": 3},
        {"Name": "PO-3", "Tags": "eu", "Priority": 2},
        {"Name": "INV_4", "Tags": "eu;us", "Priority": 2},
        {"Name": "PO-5", "Tags": "paid", "Priority": 3},
    ]
    bulk = {"Queue": "wire-filter", "Tasks": tasks}
    send("filter bulk", api, "POST", "/api/task/bulkCreate", json=bulk)
    take = "/api/task/take"
    queue = "wire-filter"
    send(
        "filter take tags",
        api,
        "POST",
        take,
        json={"Queue": queue, "Tags": "+eu;-paid", "Count": 1},
    )
    send(
        "filter take name",
        api,
        "POST",
        take,
        json={"Queue": queue, "Name": "INV?*", "Priority": [1]},
    )
    send(
        "filter take many tags", api, "POST", take, json={"Queue": queue, "Tags": "-a;-b;-c;-d;-e"}
    )
    send("filter take form", api, "POST", take, data={"queue": queue, "tags": "+eu", "count": "5"})
    send(
        "filter take since", api, "POST", take, json={"Queue": queue, "CreatedAfter": "2030-01-01"}
    )
    send("filter take bad priority", api, "POST", take, json={"Queue": queue, "Priority": [9]})
    send("filter rest", api, "POST", "/api/task/filter/list", json={"Name": queue})


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
    # A robot group and a default task (lean since issue 13's sixth session).
    assert api.post("/api/robotGroup/create", json={"Name": "wire-group"}).is_success
    assert api.post("/api/queue/create", json={"Name": "wire-defaults"}).is_success
    default = api.post("/api/task/create", json={"Queue": "wire-defaults", "Name": "d"}).json()
    for_group = {"Process": process, "RobotGroup": "wire-group", "Task": default["guid"]}
    send("job create group and task", api, "POST", "/api/job/create", json=for_group)
    by_name = {"Process": process, "Robot": "wire-robot-2", "Task": "d"}
    send("job create task by name", api, "POST", "/api/job/create", json=by_name)
    unknown_task = {"Process": process, "Task": str(uuid.uuid4())}
    send("job create unknown task", api, "POST", "/api/job/create", json=unknown_task)
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
    batch = {task["name"]: task for task in by_label["batch take"][1]["tasks"]}
    assert sorted(batch) == ["p1", "p2", "p3", "p4", "p5"]
    assert batch["p1"]["parameters"] == {"n": 1, "s": "ünï ✓", "f": 1.5, "l": [True, None]}
    assert (batch["p2"]["tags"], batch["p2"]["deadline"]) == ("eu;vip", "2030-01-02 03:04:05")
    assert [r["ok"] for r in by_label["batch finish mixed"][1]["results"]] == [True] * 3
    judged = by_label["batch finish judged"][1]["results"]
    assert [(r["ok"], r["code"]) for r in judged] == [(True, ""), (False, "lease_lost"), (True, "")]
    stored = {task["name"]: task["status"] for task in by_label["batch stored"][1]}
    assert stored == {"p1": 2, "p2": 4, "p3": 2, "p4": 2, "p5": 2}
    assert by_label["finish again other outcome"][0] == 409
    assert by_label["consume"][1]["ConsumeJobErrorCode"] == 0
    assert by_label["consume nothing"][1]["ConsumeJobErrorCode"] == 102
    assert by_label["consume nothing snake"][1]["ConsumeJobErrorCode"] == 102
    assert by_label["consume other robot"][0] == 403
    assert by_label["consume wrong type"][0] == 422
    # The robot protocol answers an unknown caller in its body, as Sherpa does.
    assert by_label["consume stranger"][1]["ConsumeJobErrorCode"] == 101
    assert by_label["wait job stranger"][1]["ConsumeJobErrorCode"] == 101
    assert by_label["consume busy"][1]["ErrorText"].startswith("the robot already holds job")
    assert by_label["wait job given"][1]["ConsumeJobErrorCode"] == 0
    assert by_label["wait job other robot"][0] == 403
    assert by_label["log batch"][1] == {"count": 2}
    assert by_label["log batch job"][1] == {"count": 3}
    assert [by_label[f"log batch {case}"][0] for case in ("unknown job", "other robot")] == [
        404,
        404,
    ]
    assert by_label["log job"][1]["last_message"] == "in"
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
    assert [
        by_label[label][0]
        for label in (
            "job update early success",
            "job update start",
            "job update other robot",
            "job update unknown",
            "job update success",
            "job update after end",
        )
    ] == [409, 200, 404, 404, 200, 409]
    assert by_label["job update read"][1]["status"] == 4
    assert by_label["job update read"][1]["return_value"] == [1]
    updates = by_label["job update audit"][1]["items"]
    assert [entry["actor_kind"] for entry in updates].count("robot") >= 3, updates
    assert [by_label[f"adds {who} fields"][1]["priority"] for who in ("robot", "key")] == [3, 3]
    assert by_label["adds robot bad priority"][0] == 422
    assert by_label["adds robot unknown queue"][0] == 404
    assert by_label["adds robot bulk"][1]["created"] == 2
    assert [f["index"] for f in by_label["adds robot bulk each with a bad one"][1]["failed"]] == [
        1,
        2,
    ]
    assert by_label["adds robot bulk all or nothing with a bad one"][0] == 422
    assert [by_label[f"adds robot bulk {what}"][0] for what in ("empty", "too large")] == [422, 422]
    assert by_label["adds key unique again"][0] == 409
    assert len(by_label) == len(answered), "labels are unique"
    # a, b, c, d, e and f each; keyed: k, kb0, kb2, new, x, ka and kb each; own GUIDs: g, t.
    assert len(by_label["adds stored"][1]) == 2 * (6 + 7 + 2)
    for who in ("robot", "key"):
        first, again = by_label[f"adds {who} own guid"], by_label[f"adds {who} own guid retry"]
        assert first[0] == again[0] == 200 and first[1]["guid"] == again[1]["guid"]
        reused = by_label[f"adds {who} own guid reused"]
        assert (reused[0], reused[1]["code"]) == (409, "idempotency_key_reused")
        twice = by_label[f"adds {who} own guid twice"][1]
        assert [(f["index"], f["code"]) for f in twice["failed"]] == [(1, "duplicate_guid")]
    taken = {
        label: [task["name"] for task in by_label[f"filter take {label}"][1]["tasks"]]
        for label in ("tags", "name", "many tags", "form", "since")
    }
    assert taken == {
        "tags": ["PO-3"],
        "name": ["INV-1"],
        "many tags": ["INV-2"],
        "form": ["INV_4"],
        "since": [],
    }
    assert by_label["filter take bad priority"][0] == 422
    group_job = by_label["job create group and task"][1]
    assert group_job["robot_group_guid"] and group_job["task_id"], group_job
    assert by_label["job create task by name"][1]["task_id"] == group_job["task_id"]
    assert by_label["job create unknown task"][0] == 404
    for who in ("robot", "key"):
        assert by_label[f"adds {who} keyed reused"][0] == 409
        assert by_label[f"adds {who} keyed bad key"][0] == 422
        reused = by_label[f"adds {who} keyed bulk reused"][1]
        assert [(f["index"], f["code"]) for f in reused["failed"]] == [
            (0, "idempotency_key_reused"),
            (2, "idempotency_key_reused"),
        ]
        assert by_label[f"adds {who} keyed unique taken"][0] == 409
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
