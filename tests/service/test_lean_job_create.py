"""The lean job create (services.jobs.lean_create) answers and writes what the session path
(crud.create_job) answers and writes, on both stores: the answer, the stored job row, its
audit row and the wake-up of a waiting robot; what it does not cover falls back with nothing
written, and the session path gives its 404, 409 or 422.

On PostgreSQL the lean create is one statement on the driver pool (its count shows it); on
SQLite it runs in Database.raw_write (lean_create.lean_create answering shows it)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from robofleet.server.db.tables import AccountRow, JobRow
from robofleet.server.db.tables.audit import AuditRow
from robofleet.server.domain.errors import Conflict, InvalidInput, NotFound
from robofleet.server.schemas.jobs import JobCreate, JobRead
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.principals import account_key_principal
from robofleet.server.services.jobs import crud, lean_create
from tests.service.conftest import Service, Tenant, robot_caller
from tests.support.fleet import make_process, make_robot, robot_auth

# Differ between any two creates (or are the object's own identity).
_OWN = {"id", "guid", "created_at", "updated_at", "status_changed_at"}
_AUDIT_OWN = {"id", "guid", "at", "object_id", "object_guid", "message", "changes"}


def key_caller(tenant: Tenant) -> Caller:
    with tenant.service.runtime.db.read() as session:
        account = session.scalar(select(AccountRow).where(AccountRow.guid == tenant.guid))
        assert account is not None
        return Caller(account_key_principal(session, account.id, str(uuid.uuid4())))


def lean(service: Service, caller: Caller, data: JobCreate) -> JobRead | None:
    """The lean path alone: the pool's statement on PostgreSQL (on the app's loop), the raw
    write on SQLite."""
    runtime = service.runtime
    if runtime.driver_pool is None:
        return lean_create.lean_create(runtime, caller, data)
    pool = runtime.driver_pool
    before = pool.statements
    answer: JobRead | None = service.admin.portal.call(
        lean_create.create_on_driver, runtime, caller, data
    )
    assert pool.statements == before + 1  # one statement, whatever it answered
    return answer


def job_row(service: Service, guid: str) -> dict[str, Any]:
    with service.runtime.db.read() as session:
        row = session.scalar(select(JobRow).where(JobRow.guid == guid))
        assert row is not None
        return {k: v for k, v in row.__dict__.items() if not k.startswith("_")}


def audit_row(service: Service, guid: str) -> dict[str, Any]:
    with service.runtime.db.read() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.object_guid == guid)).all()
        assert len(rows) == 1
        return {k: v for k, v in rows[0].__dict__.items() if not k.startswith("_")}


def job_count(service: Service) -> int:
    with service.runtime.db.read() as session:
        return len(session.scalars(select(JobRow.id)).all())


def both(tenant: Tenant, **fields: Any) -> tuple[JobRead, JobRead]:
    """The same create by the lean path and by the session path; answers and rows alike."""
    service = tenant.service
    caller = key_caller(tenant)
    data = JobCreate.model_validate(fields)
    first = lean(service, caller, data)
    assert first is not None, fields
    second = crud.create_job(service.runtime, caller, data)
    mine, theirs = first.model_dump(), second.model_dump()
    assert {k: v for k, v in mine.items() if k not in _OWN} == {
        k: v for k, v in theirs.items() if k not in _OWN
    }
    assert list(mine["parameters"]) == list(theirs["parameters"])  # key order as given
    stored, reference = job_row(service, first.guid), job_row(service, second.guid)
    assert {k: v for k, v in stored.items() if k not in _OWN} == {
        k: v for k, v in reference.items() if k not in _OWN
    }
    assert stored["id"] == first.id
    assert stored["created_at"] == first.created_at
    same_audit(service, first.guid, second.guid)
    return first, second


def same_audit(service: Service, lean_guid: str, session_guid: str) -> None:
    mine, theirs = audit_row(service, lean_guid), audit_row(service, session_guid)
    assert {k: v for k, v in mine.items() if k not in _AUDIT_OWN} == {
        k: v for k, v in theirs.items() if k not in _AUDIT_OWN
    }
    assert mine["message"] == f"create job {lean_guid}"
    assert mine["object_id"] == job_row(service, lean_guid)["id"]
    # The changes alike, key order included, less what differs between two jobs.
    mine_changes = {k: v for k, v in mine["changes"].items() if k not in _OWN}
    theirs_changes = {k: v for k, v in theirs["changes"].items() if k not in _OWN}
    assert list(mine_changes.items()) == list(theirs_changes.items())
    assert list(mine["changes"]) == list(theirs["changes"])
    assert mine["changes"]["guid"] == lean_guid
    assert "status_changed_at" in mine["changes"]


def test_by_name_guid_and_id_with_or_without_a_robot(store_tenant: Tenant) -> None:
    api = store_tenant.api
    found = api.get(f"/api/process/read/{make_process(api)}").json()
    name = found["name"]
    robot_name = f"r-{uuid.uuid4().hex[:6]}"
    robot = make_robot(api, robot_name)
    robot_id = api.get(f"/api/robot/read/{robot}").json()["Id"]
    for ref in (name, found["guid"], found["guid"].upper(), found["id"], str(found["id"])):
        first, _ = both(store_tenant, Process=ref)
        assert (first.process_name, first.robot_guid, first.status) == (name, None, 1)
    for robot_ref in (robot, robot_id, robot_name):
        first, _ = both(store_tenant, Process=name, Robot=robot_ref)
        assert (first.robot_guid, first.robot_name, first.robot_id) == (
            robot,
            robot_name,
            robot_id,
        )


def _group(api: Any) -> dict[str, Any]:
    name = f"g-{uuid.uuid4().hex[:6]}"
    created = api.post("/api/robotGroup/create", json={"Name": name})
    assert created.status_code == 200, created.text
    read = api.get(f"/api/robotGroup/read/{name}")
    assert read.status_code == 200, read.text
    return {"name": name, **read.json()}


def _task(api: Any, queue: str, name: str) -> dict[str, Any]:
    added = api.post("/api/task/create", json={"Queue": queue, "Name": name})
    assert added.status_code == 200, added.text
    return dict(added.json())


def test_a_robot_group_and_a_default_task_by_name_guid_and_id(store_tenant: Tenant) -> None:
    api = store_tenant.api
    name = make_process(api)
    group = _group(api)
    group_guid = group.get("guid") or group["Guid"]
    group_id = group.get("id") or group["Id"]
    for ref in (group["name"], group_guid, group_id):
        first, _ = both(store_tenant, Process=name, RobotGroup=ref)
        assert (first.robot_group_guid, first.robot_group_id, first.robot_id) == (
            group_guid,
            group_id,
            None,
        )
    queues = [f"q-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for queue in queues:
        assert api.post("/api/queue/create", json={"Name": queue}).status_code == 200
    older = _task(api, queues[0], "invoice-batch")
    newer = _task(api, queues[1], "invoice-batch")  # a name names the newest
    for ref, expected in (
        (older["guid"], older["id"]),
        (older["id"], older["id"]),
        ("invoice-batch", newer["id"]),
    ):
        first, _ = both(store_tenant, Process=name, Task=ref)
        assert first.task_id == expected
    robot = make_robot(api)
    first, _ = both(store_tenant, Process=name, Robot=robot, Task=older["guid"])
    assert (first.robot_guid, first.task_id) == (robot, older["id"])
    first, _ = both(store_tenant, Process=name, RobotGroup=group_id, Task=newer["id"])
    assert (first.robot_group_id, first.task_id) == (group_id, newer["id"])


def test_priority_parameters_source_and_times_are_kept(store_tenant: Tenant) -> None:
    name = make_process(store_tenant.api)
    first, _ = both(
        store_tenant,
        Process=name,
        Priority=3,
        Source="GUI",
        Parameters={"z": 1, "a": [1, {"b": None}], "m": "x"},
        StopAfter="2031-01-02T03:04:05Z",
        AbortAfter="2031-01-02T04:04:05+01:00",
    )
    assert (first.priority, first.source, first.parameters["z"]) == (3, "GUI", 1)
    assert first.stop_after is not None


@pytest.mark.parametrize("named", [True, False])
def test_a_waiting_robot_is_woken_with_the_job(store_tenant: Tenant, named: bool) -> None:
    """Named or for any robot (the announcement `account:0`)."""
    service, api = store_tenant.service, store_tenant.api
    name = make_process(api)
    robot = make_robot(api)
    caller = key_caller(store_tenant)
    waited: dict[str, Any] = {}

    def wait() -> None:
        # Not `with client`: that would run the app's lifespan again (and close its pool).
        client = service.client(**robot_auth(robot))
        response = client.post("/api/robot/waitJob", json={"RobotGUID": robot, "Timeout": 20})
        waited["body"] = response.json()

    waiter = threading.Thread(target=wait)
    waiter.start()
    # Let the wait register before the job is announced (it would find the job anyway).
    threading.Event().wait(0.5)
    fields = {"Process": name, "Robot": robot} if named else {"Process": name}
    created = lean(service, caller, JobCreate.model_validate(fields))
    assert created is not None
    waiter.join(timeout=15)
    assert not waiter.is_alive()
    assert created.guid in str(waited["body"])


def not_lean(service: Service, caller: Caller, data: JobCreate) -> None:
    """The lean path leaves `data` to the session path without running a statement or
    writing anything."""
    runtime = service.runtime
    before = job_count(service)
    if runtime.driver_pool is None:
        assert lean_create.lean_create(runtime, caller, data) is None
    else:
        seen = runtime.driver_pool.statements
        answer = service.admin.portal.call(lean_create.create_on_driver, runtime, caller, data)
        assert answer is None and runtime.driver_pool.statements == seen  # not even tried
    assert job_count(service) == before


@pytest.mark.parametrize(
    "fields",
    [
        {"StopAfter": "2031-01-02T03:04:05Z", "AbortAfter": "2031-01-01T03:04:05Z"},
        {"Robot": "r", "RobotGroup": "g"},  # the session path's 422
    ],
)
def test_what_the_lean_path_does_not_cover_falls_back(
    store_tenant: Tenant, fields: dict[str, Any]
) -> None:
    name = make_process(store_tenant.api)
    data = JobCreate.model_validate({"Process": name, **fields})
    not_lean(store_tenant.service, key_caller(store_tenant), data)


def test_not_found_and_no_version_write_nothing_and_the_session_path_answers(
    store_tenant: Tenant,
) -> None:
    service, api = store_tenant.service, store_tenant.api
    caller = key_caller(store_tenant)
    name = make_process(api)
    bare = f"bare-{uuid.uuid4().hex[:6]}"
    assert api.post("/api/process/create", json={"Name": bare}).status_code == 200
    live, deleted = f"live-{uuid.uuid4().hex[:6]}", f"gone-{uuid.uuid4().hex[:6]}"
    for queue in (live, deleted):
        assert api.post("/api/queue/create", json={"Name": queue}).status_code == 200
    _task(api, live, "in-a-deleted-queue")
    gone = _task(api, deleted, "in-a-deleted-queue")
    removed = api.delete(f"/api/queue/delete/{deleted}")
    assert removed.status_code == 200, removed.text
    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"Process": "no-such-process"}, NotFound),
        ({"Process": str(uuid.uuid4())}, NotFound),
        ({"Process": 987654321}, NotFound),
        ({"Process": name, "Robot": str(uuid.uuid4())}, NotFound),
        ({"Process": name, "Robot": "no-such-robot"}, NotFound),
        ({"Process": name, "RobotGroup": "no-such-group"}, NotFound),
        ({"Process": name, "RobotGroup": str(uuid.uuid4())}, NotFound),
        ({"Process": name, "Task": "no-such-task"}, NotFound),
        ({"Process": name, "Task": 987654321}, NotFound),
        ({"Process": name, "Task": gone["guid"]}, NotFound),  # its queue deleted
        ({"Process": name, "Task": "in-a-deleted-queue"}, NotFound),  # the newest's queue
        ({"Process": bare}, Conflict),
    ]
    for fields, error in cases:
        data = JobCreate.model_validate(fields)
        before = job_count(service)
        assert lean(service, caller, data) is None, fields
        assert job_count(service) == before
        with pytest.raises(error):
            lean_create.create_after_driver(service.runtime, caller, data)
        with pytest.raises(error):
            crud.create_job(service.runtime, caller, data)
    # Robot and RobotGroup: left to the session path (a group is), which answers 422.
    both_given = JobCreate.model_validate({"Process": name, "Robot": "r", "RobotGroup": "g"})
    not_lean(service, caller, both_given)
    with pytest.raises(InvalidInput):
        lean_create.create_after_driver(service.runtime, caller, both_given)


def test_a_robot_or_a_folder_confined_caller_takes_the_session_path(
    store_tenant: Tenant,
) -> None:
    service, api = store_tenant.service, store_tenant.api
    name = make_process(api)
    data = JobCreate.model_validate({"Process": name})
    caller = key_caller(store_tenant)
    confined = Caller(replace(caller.principal, folder_ids=frozenset()))
    not_lean(service, confined, data)
    # A robot has no create right by default (both paths refuse it first); with one, the
    # session path answers it (access.robot_scope confines its lookups).
    assert lean_create._plan(robot_caller(service, make_robot(api)), data) is None
    assert lean(service, caller, data) is not None


def test_the_front_answers_on_the_lean_path(
    store_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, api = store_tenant.service, store_tenant.api
    name = make_process(api)
    pool = service.runtime.driver_pool
    # A new process empties the credential cache: FastAPI answers the key's first call.
    assert api.post("/api/job/create", json={"Process": name}).status_code == 200
    answered: list[JobRead | None] = []
    real = lean_create.lean_create

    def spy(*args: Any) -> JobRead | None:
        answered.append(real(*args))
        return answered[-1]

    monkeypatch.setattr(lean_create, "lean_create", spy)
    seen = pool.statements if pool else 0
    response = api.post("/api/job/create", json={"Process": name, "Priority": 1})
    assert response.status_code == 200, response.text
    assert response.json()["process_guid"] == name
    if pool is not None:
        assert pool.statements == seen + 1 and not answered
    else:
        assert len(answered) == 1 and answered[0] is not None
        assert answered[0].guid == response.json()["guid"]
    missing = api.post("/api/job/create", json={"Process": "nope-" + uuid.uuid4().hex})
    assert missing.status_code == 404, missing.text
