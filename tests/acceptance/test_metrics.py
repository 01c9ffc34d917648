"""/metrics on a real server, on both stores: every family is there and moves when real work
is done (a robot calls in, a job runs through its statuses, tasks are added, taken and
finished, the scheduler releases a postponed one); a metrics token closes it; several
worker processes report as one server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import Tenant, database_url
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import add, eventually, finish, make_queue, take
from tests.support.scrape import Scrape, scrape
from tests.support.server import ServerProcess

RELEASE_DUTY = "release postponed tasks"


TAKE = "Task-take"
"""The operation label of POST /api/task/take: its tag and handler (docs/metrics.md)."""
HEALTHZ = "Health-healthz"


def run_a_job(tenant: Tenant, robot: str, process: str) -> None:
    job = create_job(tenant.api, process, Robot=robot)["guid"]
    with tenant.client(**robot_auth(robot)) as client:
        taken = client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot}).json()
        assert taken["ConsumeJobErrorCode"] == 0, taken
        for status in (8, 4):  # In Progress, Success
            response = client.put("/api/job/update", json={"Guid": job, "Status": status})
            assert response.status_code == 200, response.text


def test_every_family_is_present_and_moves_with_real_work(tenant: Tenant) -> None:
    server = tenant.server
    with server.client() as client:
        before = scrape(client)
    account = tenant.login

    robot = make_robot(tenant.api)
    with tenant.client(**robot_auth(robot)) as client:
        beat = client.post("/api/robot/heartbeat", json={"RobotGUID": robot, "Status": 2})
        assert beat.status_code == 200, beat.text
    process_name = f"metrics-{uuid.uuid4().hex[:6]}"
    run_a_job(tenant, robot, make_process(tenant.api, process_name))
    queue = make_queue(tenant.api)
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert add(tenant.api, queue, "later", PostponedUntil=soon)["status"] == 5
    add(tenant.api, queue, "now")
    gone = add(tenant.api, queue, "gone")["guid"]
    assert tenant.api.delete(f"/api/task/delete/{gone}").status_code == 200
    assert finish(tenant.api, take(tenant.api, queue)[0], 2).status_code == 200
    missing_queue = tenant.api.post("/api/task/take", json={"Queue": f"none-{uuid.uuid4()}"})
    assert missing_queue.status_code == 404, missing_queue.text
    unknown = f"/api/no-such-thing-{uuid.uuid4().hex}"
    assert tenant.api.get(unknown).status_code == 404

    def counted(found: Scrape) -> bool:
        # The status counts are kept a few seconds, and the postponed task comes back when
        # the scheduler's duty runs after its time.
        return found.value("robofleet_tasks", account=account, queue=queue, status="New") == 1

    with server.client() as client:
        eventually(lambda: counted(scrape(client)))
        after = scrape(client)

    # Requests, per operation, method and code.
    assert after.families["robofleet_http_requests"] == "counter"
    assert after.families["robofleet_http_request_duration_seconds"] == "histogram"
    take_200 = {"operation": TAKE, "method": "POST", "code": "200"}
    assert after.value("robofleet_http_requests_total", **take_200) >= (
        before.value("robofleet_http_requests_total", **take_200) + 1
    )
    # An error the lean front answers counts under its code too.
    take_404 = {**take_200, "code": "404"}
    assert after.value("robofleet_http_requests_total", **take_404) >= (
        before.value("robofleet_http_requests_total", **take_404) + 1
    )
    took = {"operation": TAKE, "method": "POST"}
    count = "robofleet_http_request_duration_seconds_count"
    assert after.value(count, **took) >= before.value(count, **took) + 1
    assert after.value("robofleet_http_request_duration_seconds_bucket", **took, le="+Inf") == (
        after.value(count, **took)
    )
    unmatched = {"operation": "unmatched", "method": "GET", "code": "404"}
    assert after.value("robofleet_http_requests_total", **unmatched) >= 1
    operations = after.label_values("robofleet_http_requests_total", "operation")
    assert not any(unknown in operation for operation in operations)

    # Tasks, jobs and robots by status, as words, per account (and queue, process).
    tasks = {
        dict(labels)["status"]: value
        for labels, value in after.matching("robofleet_tasks", account=account, queue=queue).items()
    }
    # The deleted task is not counted.
    assert tasks["Success"] == 1 and tasks["New"] == 1 and tasks["Postponed"] == 0
    assert tasks["In Progress"] == 0 and "Failed (Business)" in tasks
    job = {"account": account, "process": process_name}
    assert after.value("robofleet_jobs", **job, status="Success") == 1
    assert after.value("robofleet_jobs", **job, status="In Progress") == 0
    robots = after.matching("robofleet_robots", account=account)
    assert sum(robots.values()) == 1
    assert after.value("robofleet_robots", account=account, status="Ready") == 1
    assert after.value("robofleet_status_counts_age_seconds") >= 0

    # The scheduler's duties: timed every tick, and this one released the postponed task.
    duty = {"duty": RELEASE_DUTY}
    seconds = "robofleet_scheduler_duty_duration_seconds_count"
    assert after.value(seconds, **duty) > before.value(seconds, **duty)
    changes = "robofleet_scheduler_duty_changes_total"
    assert after.value(changes, **duty) >= before.value(changes, **duty) + 1
    assert after.families["robofleet_scheduler_duty_failures"] == "counter"

    # The database pool, and the process itself.
    states = after.label_values("robofleet_db_pool_connections", "state")
    assert states == {"checked_out", "idle", "overflow"}
    assert after.value("robofleet_db_pool_max_connections") > 0
    assert "robofleet_db_pool_waiters" in after.families
    # The robot path's own pool (PostgreSQL's asyncpg pool; none on SQLite): the robot's
    # calls above ran on it, so it has connections open, none waited for at rest.
    driver = after.label_values("robofleet_db_driver_pool_connections", "state")
    assert driver == {"in_use", "idle"}
    open_now = sum(after.matching("robofleet_db_driver_pool_connections").values())
    if tenant.server.database_url is None:
        assert after.value("robofleet_db_driver_pool_max_connections") == 0 and open_now == 0
    else:
        assert after.value("robofleet_db_driver_pool_max_connections") == 8
        assert 1 <= open_now <= 8
    assert "robofleet_db_driver_pool_waiters" in after.families
    assert after.value("robofleet_db_driver_pool_waiters") == 0
    assert after.value("process_resident_memory_bytes") > 0
    assert after.value("process_cpu_seconds_total") > 0


def test_a_metrics_token_closes_the_endpoint(tmp_path: Path) -> None:
    token = "scrape-" + uuid.uuid4().hex
    server = ServerProcess(
        data_dir=tmp_path / "data", env={"ROBOFLEET_METRICS_TOKEN": token}
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            missing = client.get("/metrics")
            assert missing.status_code == 401
            assert missing.json()["code"] == "metrics_token_required"
            assert "Authorization: Bearer" in missing.json()["message"]
            assert missing.headers["WWW-Authenticate"].startswith("Bearer")
            wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert wrong.json()["code"] == "metrics_token_invalid"
            # An API key is not the metrics token.
            assert client.get("/metrics", headers={"Key": server.api_key or ""}).status_code == 401
            found = scrape(client, Authorization=f"Bearer {token}")
            assert "robofleet_http_requests" in found.families
    finally:
        server.stop()


@pytest.mark.slow
def test_several_workers_report_as_one_server(tmp_path: Path, pg_url_factory: list[str]) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "counter_999999999.db").write_bytes(b"left by an earlier start")
    server = ServerProcess(
        data_dir=tmp_path / "data",
        database_url=database_url("postgres", pg_url_factory),
        env={"ROBOFLEET_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(shared)},
    ).start(timeout=180)  # two worker processes each import the whole server: slow on a busy box
    try:
        calls = 40
        for _ in range(calls):
            with httpx.Client(base_url=server.url, timeout=30) as fresh:  # a new connection each
                assert fresh.get("/healthz").status_code == 200
        health = {"operation": HEALTHZ, "method": "GET", "code": "200"}

        def both_workers_seen() -> bool:
            with httpx.Client(base_url=server.url, timeout=30) as fresh:
                found = scrape(fresh)
            # Whichever worker answers, it counts every worker's requests.
            assert found.value("robofleet_http_requests_total", **health) >= calls
            return len(found.label_values("process_cpu_seconds_total", "pid")) == 2

        eventually(both_workers_seen)
        assert not (shared / "counter_999999999.db").exists()
    finally:
        server.stop()
    assert not list(shared.glob("gauge_livesum_*.db"))  # stopped workers leave the sums
