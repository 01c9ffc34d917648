"""The lean log batch (services.logs.lean_batch) answers and stores what the session path
(logs.ingest_batch) answers and stores, on both stores, and falls back to it for anything
else with nothing written.

Each case has two robots alike ("twins"), each running a job of the same process: one posts
its batch through the front (lean where it applies), the other's same batch goes to the
session path alone; answers and stored rows must match. Which path answered: on PostgreSQL
the driver pool's statement count, on SQLite the ORM write sessions the database began."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, SessionTransaction
from starlette.testclient import TestClient

from robofleet.server.db.dialect import WRITE_OPTION
from robofleet.server.db.tables import JobRow, LogRow, RobotRow
from robofleet.server.schemas.log_batch import parse_batch
from robofleet.server.services import logs
from robofleet.server.services.logs.ingest import LAST_MESSAGE_LENGTH
from robofleet.server.services.logs.lean_batch import MAX_LINES
from robofleet.server.services.logs.tail import WAKE_ANY
from tests.service.conftest import Service, Tenant, robot_caller
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.sse import sse_events

PNG = (  # a 1x1 image, as tests/acceptance/test_logs.py sends
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
LINE_COLUMNS = ("level", "message", "fields", "created_at", "screenshot_sha256")


class Paths:
    """Which path answered since the last look: lean statements on the driver pool
    (PostgreSQL) and ORM write sessions begun (both stores)."""

    def __init__(self, service: Service) -> None:
        self.pool = service.runtime.driver_pool
        self.statements = self.pool.statements if self.pool else 0
        self.sessions = 0
        self._detach = service.runtime.db.listen("after_begin", self._begun)

    def _begun(self, _session: Session, _txn: SessionTransaction, connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            self.sessions += 1

    def since(self) -> tuple[int, int]:
        """(driver statements, write sessions) since the last call."""
        statements = self.pool.statements if self.pool else 0
        ran = (statements - self.statements, self.sessions)
        self.statements, self.sessions = statements, 0
        return ran

    def close(self) -> None:
        self._detach()


@pytest.fixture
def paths(store_tenant: Tenant) -> Iterator[Paths]:
    counter = Paths(store_tenant.service)
    yield counter
    counter.close()


@dataclass
class Twin:
    robot: str
    job: str
    version: str
    api: TestClient


def running_twins(tenant: Tenant) -> tuple[Twin, Twin]:
    """Two robots, each running a job of one process (consumed, then In Progress)."""
    api = tenant.api
    process = make_process(api)
    twins = []
    for _ in range(2):
        robot = make_robot(api)
        robot_api = tenant.client(**robot_auth(robot))
        job = create_job(api, process, Robot=robot)
        consumed = robot_api.post("/api/robot/consumeNextJob", json={"RobotGUID": robot})
        assert consumed.status_code == 200, consumed.text
        update = robot_api.put("/api/job/update", json={"GUID": job["guid"], "Status": 8})
        assert update.status_code == 200, update.text
        read = api.get(f"/api/job/read/{job['guid']}")
        assert read.status_code == 200, read.text
        version = str(read.json()["process_version_guid"])
        twins.append(Twin(robot, str(job["guid"]), version, robot_api))
    for twin in twins:
        warm(twin)
    return twins[0], twins[1]


def warm(twin: Twin) -> None:
    """A new process or a job's changes empty the credential cache: FastAPI answers this
    call and fills it, so the front answers the next (an empty batch writes nothing)."""
    assert twin.api.post("/api/log/batch", json={"Lines": []}).json() == {"count": 0}


def stored(service: Service, robot: str) -> list[dict[str, Any]]:
    """The robot's lines in id order, with their job and version as GUIDs."""
    with service.runtime.db.read() as session:
        robot_id = session.scalar(select(RobotRow.id).where(RobotRow.guid == robot))
        rows = session.scalars(
            select(LogRow).where(LogRow.robot_id == robot_id).order_by(LogRow.id)
        )
        found = []
        for row in rows:
            line = {name: getattr(row, name) for name in LINE_COLUMNS}
            if abs(datetime.now(UTC) - row.created_at) < timedelta(minutes=1):
                line["created_at"] = "now"  # a line without its time: the moment it came
            line["job"] = row.job_id is not None
            line["version"] = row.process_version_id is not None
            line["account"] = row.account_id
            found.append(line)
        return found


def job_row(service: Service, guid: str) -> tuple[str, Any]:
    with service.runtime.db.read() as session:
        row = session.scalar(select(JobRow).where(JobRow.guid == guid))
        assert row is not None
        return row.last_message, row.updated_at


def send_both(
    service: Service,
    lean: Twin,
    full: Twin,
    lines: list[dict[str, Any]],
    paths: Paths | None = None,
) -> tuple[Any, Any]:
    """`lean` posts through the front (on the lean path, checked with `paths`), `full` goes
    to the session path; the lines may name
    each twin's own job, version and robot as "{job}" ("{JOB}" in capitals), "{version}",
    "{robot}"."""

    def body(twin: Twin) -> dict[str, Any]:
        text = json.dumps({"Lines": lines}).replace("{job}", twin.job)
        text = text.replace("{JOB}", twin.job.upper()).replace("{robot}", twin.robot)
        return json.loads(text.replace("{version}", twin.version))

    response = lean.api.post("/api/log/batch", json=body(lean))
    if paths is not None:
        lean_ran(service, paths)
    runtime = service.runtime
    parsed = parse_batch(json.dumps(body(full)).encode())
    session = logs.ingest_batch(runtime, robot_caller(service, full.robot), parsed)
    if paths is not None:
        paths.since()  # the session path's own write
    return response, session


def assert_alike(service: Service, lean: Twin, full: Twin) -> None:
    mine, theirs = stored(service, lean.robot), stored(service, full.robot)
    assert mine == theirs
    assert job_row(service, lean.job)[0] == job_row(service, full.job)[0]


def lean_ran(service: Service, paths: Paths) -> None:
    statements, sessions = paths.since()
    postgres = service.runtime.driver_pool is not None
    assert (statements, sessions) == ((1, 0) if postgres else (0, 0))


def fell_back(service: Service, paths: Paths, *, statement_ran: bool, writes: bool) -> None:
    """The session path answered: a write session when it wrote (not for a 404)."""
    statements, sessions = paths.since()
    postgres = service.runtime.driver_pool is not None
    assert statements == (1 if postgres and statement_ran else 0)
    assert sessions == int(writes)


def test_batches_are_stored_as_the_session_path_stores_them(
    store_tenant: Tenant, paths: Paths
) -> None:
    service = store_tenant.service
    lean, full = running_twins(store_tenant)
    long_message = "x" * (LAST_MESSAGE_LENGTH + 50)
    batches: list[list[dict[str, Any]]] = [
        [{"Message": "no job", "Level": "Info", "Time": 1_700_000_000.25}],
        [
            {
                "Message": "  one  ",
                "Level": "Warning",
                "Fields": {"k": [1, None]},
                "JobGUID": "{job}",
            },
            {"message": "two", "level": 4, "fields": {}, "job_guid": "{job}", "Time": 1.5},
            {"Message": "three", "Level": "Debug", "JobGUID": "{job}"},
        ],
        [
            {
                "Message": f"m{n}",
                "Level": "Error",
                "Fields": {"n": n, "deep": {"a": "é"}},
                "Time": "2030-01-02T03:04:05.123456+02:00",
                "JobGUID": "{job}",
                "ProcessVersionGUID": "{version}",
            }
            for n in range(7)
        ],
        [{"Message": long_message, "JobGUID": "{job}", "ProcessVersionGUID": "{version}"}],
        [{"Message": "upper", "JobGUID": "{JOB}", "RobotGUID": "{robot}"}],
    ]
    paths.since()
    for lines in batches:
        response, session = send_both(service, lean, full, lines, paths)
        assert response.status_code == 200, response.text
        assert response.json() == session.model_dump(exclude_none=True) == {"count": len(lines)}
        assert_alike(service, lean, full)
    last, _ = job_row(service, lean.job)
    assert last == "upper"
    assert len(stored(service, lean.robot)) == 1 + 3 + 7 + 1 + 1


def test_the_last_message_is_cut_and_the_job_touched(store_tenant: Tenant, paths: Paths) -> None:
    service = store_tenant.service
    lean, full = running_twins(store_tenant)
    before, before_full = job_row(service, lean.job)[1], job_row(service, full.job)[1]
    long_message = "y" * (LAST_MESSAGE_LENGTH + 5)
    response, _ = send_both(service, lean, full, [{"Message": long_message, "JobGUID": "{job}"}])
    assert response.status_code == 200
    message, updated = job_row(service, lean.job)
    assert message == long_message[:LAST_MESSAGE_LENGTH] == job_row(service, full.job)[0]
    assert updated > before and job_row(service, full.job)[1] > before_full  # both touch it
    assert stored(service, lean.robot)[0]["message"] == long_message


def test_the_robot_may_name_itself(store_tenant: Tenant, paths: Paths) -> None:
    service = store_tenant.service
    lean, _full = running_twins(store_tenant)
    paths.since()
    response = lean.api.post(
        "/api/log/batch", json={"Lines": [{"Message": "me", "RobotGUID": lean.robot.upper()}]}
    )
    assert response.status_code == 200 and response.json() == {"count": 1}
    lean_ran(service, paths)
    assert stored(service, lean.robot)[0]["message"] == "me"


def test_other_shapes_fall_back_with_nothing_written(store_tenant: Tenant, paths: Paths) -> None:
    service = store_tenant.service
    api = store_tenant.api
    lean, full = running_twins(store_tenant)
    stranger_job = create_job(api, make_process(api), Robot=full.robot)["guid"]
    paths.since()

    def post(lines: list[dict[str, Any]], status: int = 200) -> Any:
        response = lean.api.post("/api/log/batch", json={"Lines": lines})
        assert response.status_code == status, response.text
        return response.json()

    # Before the statement: another robot named, two jobs, a version with no job.
    assert full.robot in json.dumps(post([{"Message": "a", "RobotGUID": full.robot}], 404))
    fell_back(service, paths, statement_ran=False, writes=False)
    post([{"Message": "a", "JobGUID": lean.job}, {"Message": "b"}])
    fell_back(service, paths, statement_ran=False, writes=True)
    post([{"Message": "a", "ProcessVersionGUID": lean.version}])
    fell_back(service, paths, statement_ran=False, writes=True)
    # After it: another robot's job (404), an unknown one; nothing of them is stored.
    count = len(stored(service, lean.robot))
    post([{"Message": "a", "JobGUID": full.job}], 404)
    fell_back(service, paths, statement_ran=True, writes=False)
    post([{"Message": "a", "JobGUID": str(uuid.uuid4())}], 404)
    fell_back(service, paths, statement_ran=True, writes=False)
    post([{"Message": "a", "JobGUID": stranger_job}], 404)
    fell_back(service, paths, statement_ran=True, writes=False)
    assert len(stored(service, lean.robot)) == count == 3
    # A big batch goes to the session path's COPY and group commit.
    assert post([{"Message": "m"}] * (MAX_LINES + 1)) == {"count": MAX_LINES + 1}
    fell_back(service, paths, statement_ran=False, writes=True)
    # A key's batch and an empty one go to the session path.
    assert api.post("/api/log/batch", json={"Lines": [{"Message": "k"}]}).json() == {"count": 1}
    assert paths.since()[0] == 0
    assert post([]) == {"count": 0}
    assert paths.since()[0] == 0


def test_a_version_of_another_of_its_jobs_is_the_session_paths_answer(
    store_tenant: Tenant, paths: Paths
) -> None:
    """The lean lookup takes only the job's own version; the session path accepts a version
    of any of the robot's jobs."""
    service = store_tenant.service
    api = store_tenant.api
    lean, _full = running_twins(store_tenant)
    other = create_job(api, make_process(api), Robot=lean.robot)
    other_version = api.get(f"/api/job/read/{other['guid']}").json()["process_version_guid"]
    warm(lean)
    paths.since()
    line = {"Message": "v", "JobGUID": lean.job, "ProcessVersionGUID": other_version}
    response = lean.api.post("/api/log/batch", json={"Lines": [line]})
    assert response.status_code == 200 and response.json() == {"count": 1}
    fell_back(service, paths, statement_ran=True, writes=True)
    assert stored(service, lean.robot)[-1]["version"] is True


def test_a_screenshot_goes_to_the_session_path(store_tenant: Tenant, paths: Paths) -> None:
    service = store_tenant.service
    lean, _full = running_twins(store_tenant)
    png = base64.b64encode(PNG).decode()
    paths.since()
    response = lean.api.post(
        "/api/log/batch", json={"Lines": [{"Message": "shot", "Screenshot": png}]}
    )
    assert response.status_code == 200, response.text
    fell_back(service, paths, statement_ran=False, writes=True)
    assert stored(service, lean.robot)[0]["screenshot_sha256"]


def test_rate_tokens_are_taken_once_when_the_lean_write_falls_back(
    store_tenant: Tenant, paths: Paths
) -> None:
    service = store_tenant.service
    lean, full = running_twins(store_tenant)
    runtime = service.runtime
    robot_id = robot_caller(service, lean.robot).robot_id
    assert robot_id is not None
    burst = runtime.settings.log_burst_lines_per_robot

    def tokens() -> float:
        return runtime.log_rate._buckets.get(robot_id, (float(burst), 0.0))[0]

    before = tokens()
    response = lean.api.post(
        "/api/log/batch", json={"Lines": [{"Message": "a", "JobGUID": full.job}] * 5}
    )
    assert response.status_code == 404
    # Refill over the call's own time is a few tokens a second at most.
    assert before - 5 <= tokens() < before - 4


def test_live_tails_are_woken_and_get_the_lines(store_tenant: Tenant, paths: Paths) -> None:
    service = store_tenant.service
    lean, _full = running_twins(store_tenant)
    wakeups = service.runtime.log_wakeups
    assert wakeups is not None
    account = robot_caller(service, lean.robot).account_id
    portal = service.admin.portal
    assert portal is not None

    async def register() -> asyncio.Future[None]:
        return wakeups.register(account, WAKE_ANY)

    async def woken(future: asyncio.Future[None]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(future), 5)
        finally:
            wakeups.unregister(account, WAKE_ANY, future)

    future = portal.call(register)
    seen: list[dict[str, Any]] = []
    started = threading.Event()
    tail = follow(service, store_tenant.key, {"Job": lean.job, "Timeout": 4}, seen, started)
    assert started.wait(10)
    time.sleep(0.3)  # the tail has looked once and waits
    paths.since()
    lines = [{"Message": f"live {n}", "JobGUID": lean.job} for n in range(3)]
    response = lean.api.post("/api/log/batch", json={"Lines": lines})
    assert response.status_code == 200, response.text
    lean_ran(service, paths)
    portal.call(woken, future)
    tail.join(timeout=15)
    assert [event["Message"] for event in seen] == ["live 0", "live 1", "live 2"]


def follow(
    service: Service,
    key: str,
    params: dict[str, Any],
    seen: list[dict[str, Any]],
    started: threading.Event,
) -> threading.Thread:
    """A tail read on a thread of its own; each line lands in `seen` as it arrives."""

    def run() -> None:
        with (
            service.client(Key=key) as client,
            client.stream("GET", "/api/log/tail", params=params) as stream,
        ):
            lines = stream.iter_lines()
            first = next(lines, None)
            if first is None:
                return
            started.set()  # the stream is open
            for event in sse_events(itertools.chain([first], lines)):
                seen.append(event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
