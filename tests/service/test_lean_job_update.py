"""The lean job update (services.jobs.lean_update) writes what the session path
(crud.session_update_job) writes, on both stores: the job's columns, the robot's
Working/Ready follow and the audit entry.

Each case sets up two robots alike ("twins"), each with its own job: one reports through the
lean entry (PostgreSQL: update_on_driver on the app's loop; SQLite: update_on_sqlite), the
other through the session path alone; the stored rows and audit entries must match. The lean
entry's answer tells whether it took the report; where it does not, nothing may have
changed and the session path's answer (404, 409) stands."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import literal, select, update

from robofleet.server.db.audit import NotAudited
from robofleet.server.db.job_statements import iso_text
from robofleet.server.db.tables import AuditRow, JobRow, ProcessVersionRow, RobotRow
from robofleet.server.domain.errors import InvalidTransition, NotFound
from robofleet.server.schemas.jobs import JobUpdate
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.jobs import crud, lean_update
from tests.service.conftest import Service, Tenant, robot_caller
from tests.service.test_lean_sqlite import WriteSessions
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import add, make_queue, read, take

TIMES = ("claimed_at", "started_at", "completed_at", "status_changed_at")
PLAIN = ("status", "progress", "last_message", "return_value")


def lean(service: Service, caller: Caller, data: JobUpdate) -> bool:
    """The lean entry of the store; whether it took the report."""
    runtime = service.runtime
    if runtime.driver_pool is not None:
        answer = service.admin.portal.call(lean_update.update_on_driver, runtime, caller, data)
        return answer is not None
    return lean_update.update_on_sqlite(runtime, caller, data)


def job_row(service: Service, guid: str) -> dict[str, Any]:
    with service.runtime.db.read() as session:
        job = session.scalar(select(JobRow).where(JobRow.guid == guid))
        assert job is not None
        robot = session.get(RobotRow, job.robot_id) if job.robot_id is not None else None
        row = {name: getattr(job, name) for name in (*PLAIN, *TIMES, "updated_at")}
        row["robot_status"] = robot.status if robot is not None else None
        row["robot_guid"] = robot.guid if robot is not None else None
        return row


def audits(service: Service, guid: str, robot: str = "") -> list[dict[str, Any]]:
    """The job's audit entries by `robot` (its id and the job's GUID as placeholders)."""
    with service.runtime.db.read() as session:
        robot_id = session.scalar(select(RobotRow.id).where(RobotRow.guid == robot))
        rows = session.scalars(
            select(AuditRow)
            .where(AuditRow.object_guid == guid, AuditRow.actor_guid == robot)
            .order_by(AuditRow.id)
        )
        return [
            {
                "action": row.action,
                "object_type": row.object_type,
                "actor_kind": row.actor_kind,
                "message": row.message.replace(guid, "<job>"),
                "changes": _robot_placeholder(row.changes, robot_id),
            }
            for row in rows
        ]


def _robot_placeholder(changes: dict[str, Any], robot_id: int | None) -> dict[str, Any]:
    """Robot ids (a created job's, a change's ends) as a placeholder: the twins' differ."""

    def named(value: Any) -> Any:
        if isinstance(value, dict):
            return {end: named(each) for end, each in value.items()}
        return "<robot>" if value == robot_id else value

    return {
        name: named(value) if name.endswith("robot_id") else value
        for name, value in changes.items()
    }


class Twin:
    """A robot, its caller and its job."""

    def __init__(self, tenant: Tenant, process: str, *, consume: bool = True) -> None:
        self.service = tenant.service
        self.robot = make_robot(tenant.api)
        self.job = str(create_job(tenant.api, process, Robot=self.robot)["guid"])
        # Not `with`: leaving a TestClient's context would end the app's lifespan (and close
        # its driver pool).
        client = tenant.client(**robot_auth(self.robot))
        if consume:
            taken = client.post("/api/robot/consumeNextJob", json={"RobotGUID": self.robot})
            assert taken.json()["ConsumeJobErrorCode"] == 0, taken.text
        else:  # Ready, with the job left waiting
            beat = client.post("/api/robot/heartbeat", json={"RobotGUID": self.robot})
            assert beat.is_success, beat.text
        self.caller = robot_caller(self.service, self.robot)

    def update(self, **fields: Any) -> JobUpdate:
        return JobUpdate.model_validate({"Guid": self.job, **fields})

    def row(self) -> dict[str, Any]:
        return job_row(self.service, self.job)


def twins(tenant: Tenant, *, consume: bool = True) -> tuple[Twin, Twin]:
    process = make_process(tenant.api)
    return Twin(tenant, process, consume=consume), Twin(tenant, process, consume=consume)


def _times_alike(mine: Any, theirs: Any) -> None:
    assert (mine is None) == (theirs is None)
    if mine is not None:
        assert abs(datetime.now(UTC) - mine) < timedelta(seconds=60)


def _changes_alike(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert list(mine) == list(theirs) or sorted(mine) == sorted(theirs)
    for name, change in mine.items():
        other = theirs[name]
        if name in TIMES:
            for end in ("from", "to"):
                _times_alike(_parsed(change[end]), _parsed(other[end]))
        else:
            assert change == other, name


def _parsed(text: str | None) -> datetime | None:
    if text is None:
        return None
    parsed = datetime.fromisoformat(text)
    assert parsed.isoformat() == text  # Python's own rendering, as db.audit writes it
    return parsed


def report_both(lean_twin: Twin, full: Twin, expect_lean: bool = True, **fields: Any) -> None:
    service = lean_twin.service
    assert lean(service, lean_twin.caller, lean_twin.update(**fields)) is expect_lean
    if not expect_lean:
        crud.session_update_job(service.runtime, lean_twin.caller, lean_twin.update(**fields))
    crud.session_update_job(service.runtime, full.caller, full.update(**fields))
    same(lean_twin, full)


def same(lean_twin: Twin, full: Twin) -> None:
    mine, theirs = lean_twin.row(), full.row()
    assert {k: mine[k] for k in PLAIN} == {k: theirs[k] for k in PLAIN}
    assert mine["robot_status"] == theirs["robot_status"]
    assert mine["robot_guid"] == lean_twin.robot and theirs["robot_guid"] == full.robot
    for name in TIMES:
        _times_alike(mine[name], theirs[name])
    service = lean_twin.service
    my_audit = audits(service, lean_twin.job, lean_twin.robot)
    their_audit = audits(service, full.job, full.robot)
    assert len(my_audit) == len(their_audit)
    for entry, other in zip(my_audit, their_audit, strict=True):
        assert {k: v for k, v in entry.items() if k != "changes"} == {
            k: v for k, v in other.items() if k != "changes"
        }
        _changes_alike(entry["changes"], other["changes"])
    # The audit's "to" is the stored value, in Python's isoformat.
    assert all(entry["action"] == "update" for entry in my_audit)
    if my_audit and "status_changed_at" in my_audit[-1]["changes"]:
        last = my_audit[-1]["changes"]["status_changed_at"]["to"]
        assert last == mine["status_changed_at"].isoformat()


def test_a_run_in_progress_then_success_is_written_alike(store_tenant: Tenant) -> None:
    mine, theirs = twins(store_tenant)
    report_both(mine, theirs, Status=8)
    assert mine.row()["status"] == 8 and mine.row()["robot_status"] == 3  # Working
    report_both(mine, theirs, Progress=40, Message="a third")
    report_both(mine, theirs, Status=8, Message="still going")  # same status: message only
    report_both(mine, theirs, Status=4, Message="done", ReturnValue='{"n": [1, 2]}', Progress=7)
    final = mine.row()
    assert (final["status"], final["progress"], final["last_message"]) == (4, 100, "done")
    assert final["return_value"] == {"n": [1, 2]} and final["robot_status"] == 2  # Ready
    assert final["completed_at"] is not None
    report_both(mine, theirs, Status=4, Progress=55)  # Success again: progress only
    assert [e["changes"].keys() for e in audits(mine.service, mine.job, mine.robot)][-1] >= {
        "status"
    }


def test_a_robot_that_did_not_consume_claims_the_job_by_starting_it(
    store_tenant: Tenant,
) -> None:
    mine, theirs = twins(store_tenant, consume=False)
    assert mine.row()["claimed_at"] is None
    report_both(mine, theirs, Status=8)
    assert mine.row()["claimed_at"] is not None
    changes = audits(mine.service, mine.job, mine.robot)[-1]["changes"]
    assert {"status", "claimed_at", "started_at", "status_changed_at"} <= changes.keys()


def test_an_unknown_job_resumes_and_ends(store_tenant: Tenant) -> None:
    mine, theirs = twins(store_tenant)
    report_both(mine, theirs, Status=8)
    with mine.service.runtime.db.write(actor=NotAudited("test")) as session:
        session.execute(
            update(JobRow).where(JobRow.guid.in_([mine.job, theirs.job])).values(status=9)
        )
    report_both(mine, theirs, Status=8)
    report_both(mine, theirs, Status=4)


def test_a_return_value_alone_and_a_string_result(store_tenant: Tenant) -> None:
    mine, theirs = twins(store_tenant)
    report_both(mine, theirs, Status=8)
    report_both(mine, theirs, ReturnValue='"text"')
    # Replacing a stored value (here by an equal one: no audit entry) is lean on SQLite,
    # where Python compares them as the session path does; PostgreSQL leaves it to that path.
    sqlite = store_tenant.service.runtime.driver_pool is None
    report_both(mine, theirs, expect_lean=sqlite, ReturnValue='"text"')
    report_both(mine, theirs, expect_lean=sqlite, ReturnValue="1")
    report_both(mine, theirs, expect_lean=sqlite, ReturnValue="1.0")
    assert mine.row()["return_value"] == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"Status": 6},  # Stopping: an operator's request
        {"Status": 2},  # Aborting too
        {"Priority": 1},
        {"Status": 8, "StopAfter": "2099-01-01T00:00:00Z"},
        {"ReturnValue": "null"},
        {},  # nothing sent
    ],
)
def test_other_reports_go_to_the_session_path_with_nothing_changed(
    store_tenant: Tenant, fields: dict[str, Any]
) -> None:
    mine, theirs = twins(store_tenant)
    report_both(mine, theirs, Status=8)
    report_both(mine, theirs, expect_lean=False, **fields)


@pytest.mark.parametrize("ending", [5, 3])  # Failed, Aborted
def test_an_ending_with_no_task_to_fail_is_written_alike(store_tenant: Tenant, ending: int) -> None:
    mine, theirs = twins(store_tenant)
    report_both(mine, theirs, Status=8)
    report_both(mine, theirs, Status=ending, Message="the robot gave up", Progress=60)
    row = mine.row()
    assert (row["status"], row["progress"], row["last_message"]) == (
        ending,
        60,
        "the robot gave up",
    )
    assert row["completed_at"] is not None and row["robot_status"] == 2  # Ready


def test_stopped_after_an_operators_stop_is_written_alike(store_tenant: Tenant) -> None:
    mine, theirs = twins(store_tenant)
    report_both(mine, theirs, Status=8)
    report_both(mine, theirs, expect_lean=False, Status=6)  # Stopping: the session path's
    report_both(mine, theirs, Status=7, Message="stopped between items")
    assert mine.row()["status"] == 7 and mine.row()["robot_status"] == 2


def _take_for_job(tenant: Tenant, twin: Twin, queue: str) -> dict[str, Any]:
    """One task of `queue` taken by the twin's robot, linked to its running job."""
    add(tenant.api, queue, f"item-{twin.robot[:8]}")
    robot = tenant.client(**robot_auth(twin.robot))  # not `with`: see Twin
    (task,) = take(robot, queue)
    assert task["job_guid"] == twin.job
    return task


def test_a_failure_holds_back_while_the_job_has_a_task_its_end_fails(
    store_tenant: Tenant,
) -> None:
    """A task In Progress in a queue whose tasks end with their job: the session path fails
    it (and makes its retry); the lean statement changes nothing first."""
    api = store_tenant.api
    auto = make_queue(api, AutoChangeStatus=True, RetryApplication=True, MaxRetries=1)
    mine, theirs = twins(store_tenant)
    report_both(mine, theirs, Status=8)
    held = {twin.job: _take_for_job(store_tenant, twin, auto) for twin in (mine, theirs)}
    report_both(mine, theirs, expect_lean=False, Status=5, Message="crashed")
    for twin in (mine, theirs):
        task = read(api, held[twin.job]["guid"])
        assert task["status"] == 3 and "ended Failed" in task["error"]["message"]
    listed = api.post(f"/api/task/filter/list/{auto}", json={}).json()
    assert sorted(task["status"] for task in listed) == [0, 0, 3, 3]  # one retry each


def test_a_task_of_a_queue_that_ignores_its_job_does_not_hold_the_failure_back(
    store_tenant: Tenant,
) -> None:
    api = store_tenant.api
    manual = make_queue(api)
    mine, theirs = twins(store_tenant)
    report_both(mine, theirs, Status=8)
    held = {twin.job: _take_for_job(store_tenant, twin, manual) for twin in (mine, theirs)}
    report_both(mine, theirs, Status=3)
    assert all(read(api, task["guid"])["status"] == 1 for task in held.values())


def test_refused_reports_change_nothing_and_the_session_path_refuses(
    store_tenant: Tenant,
) -> None:
    service = store_tenant.service
    mine, other = twins(store_tenant)
    before = mine.row(), audits(service, mine.job, mine.robot)
    # Success from Pending (taken, not started): not an allowed move.
    assert not lean(service, mine.caller, mine.update(Status=4))
    with pytest.raises(InvalidTransition):
        crud.session_update_job(service.runtime, mine.caller, mine.update(Status=4))
    # Another robot's job, a job by id, an unknown GUID: 404 on the session path.
    assert not lean(service, other.caller, mine.update(Status=8))
    with pytest.raises(NotFound):
        crud.session_update_job(service.runtime, other.caller, mine.update(Status=8))
    with service.runtime.db.read() as session:
        job_id = session.scalar(select(JobRow.id).where(JobRow.guid == mine.job))
    assert not lean(service, mine.caller, JobUpdate.model_validate({"Guid": job_id, "Status": 8}))
    unknown = JobUpdate.model_validate({"Guid": "6f1c3c1e-0000-4000-8000-000000000000"})
    assert not lean(service, mine.caller, unknown.model_copy(update={"status": 8}))
    assert (mine.row(), audits(service, mine.job, mine.robot)) == before
    # An ended job cannot start again.
    assert lean(service, mine.caller, mine.update(Status=8))
    assert lean(service, mine.caller, mine.update(Status=4))
    ended = mine.row(), audits(service, mine.job, mine.robot)
    assert not lean(service, mine.caller, mine.update(Status=8))
    assert (mine.row(), audits(service, mine.job, mine.robot)) == ended


def test_an_operator_a_folder_bound_caller_and_a_robocorp_job_go_to_the_session_path(
    store_tenant: Tenant,
) -> None:
    service = store_tenant.service
    mine, _ = twins(store_tenant)
    before = mine.row()
    operator = Caller(dataclasses.replace(mine.caller.principal, kind="user", robot_id=None))
    assert not lean(service, operator, mine.update(Status=8))
    confined = Caller(dataclasses.replace(mine.caller.principal, folder_ids=frozenset()))
    assert not lean(service, confined, mine.update(Status=8))
    with service.runtime.db.write(actor=NotAudited("test")) as session:
        version = session.scalar(select(JobRow.process_version_id).where(JobRow.guid == mine.job))
        session.execute(
            update(ProcessVersionRow).where(ProcessVersionRow.id == version).values(kind="robocorp")
        )
    assert not lean(service, mine.caller, mine.update(Status=8))
    assert mine.row() == before


@pytest.mark.parametrize("ending", [4, 5])  # Success, Failed
def test_the_front_answers_the_agents_reports_without_a_write_session(
    store_tenant: Tenant, ending: int
) -> None:
    """Over HTTP (the lean front): each lean report is one statement on PostgreSQL's driver
    pool and no ORM write session on either store; a fallback opens one."""
    service = store_tenant.service
    pool = service.runtime.driver_pool
    mine, _ = twins(store_tenant)
    robot = service.client(**robot_auth(mine.robot))
    # The first call of a credential fills the front's cache (FastAPI answers it).
    assert robot.post("/api/robot/heartbeat", json={"RobotGUID": mine.robot}).is_success
    sessions = WriteSessions(service)
    try:
        ran = pool.statements if pool is not None else 0
        for body in (
            {"Status": 8},
            {"Progress": 30, "Message": "a third"},
            {"Status": ending, "ReturnValue": "1"},
        ):
            response = robot.put("/api/job/update", json={"Guid": mine.job, **body})
            assert response.status_code == 200 and response.json() == [], response.text
        assert sessions.count == 0
        if pool is not None:
            assert pool.statements - ran == 3
        refused = robot.put("/api/job/update", json={"Guid": mine.job, "Status": 8})
        assert refused.status_code == 409, refused.text
        assert sessions.count == 1
    finally:
        sessions.close()
    assert mine.row()["status"] == ending


MOMENTS = (
    datetime(2026, 12, 3, 11, 0, 0, tzinfo=UTC),  # no microseconds: none written
    datetime(2026, 12, 3, 11, 0, 59, 5, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2))),
)


def test_postgresql_writes_audit_times_as_python_does(pg_service: Service) -> None:
    """The audit's times are rendered in SQL on PostgreSQL only (SQLite's in Python)."""
    for moment in MOMENTS:
        column = literal(moment, JobRow.__table__.c.status_changed_at.type)
        with pg_service.runtime.db.read() as session:
            rendered = session.scalar(select(iso_text(column)))
        assert rendered == moment.astimezone(UTC).isoformat(), moment
