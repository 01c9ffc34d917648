"""waitJob: a robot waiting for work is woken as soon as a job for it is committed, also when
the job is created on another server node sharing the PostgreSQL database."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from tests.acceptance.conftest import Tenant
from tests.support import pg
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.server import ServerProcess


def wait_in_background(
    server_url: str, robot: str, timeout: float, result: dict[str, Any]
) -> threading.Thread:
    import httpx

    def run() -> None:
        started = time.monotonic()
        response = httpx.post(
            f"{server_url}/api/robot/waitJob",
            headers=robot_auth(robot),
            json={"RobotGUID": robot, "Timeout": timeout},
            timeout=timeout + 10,
        )
        result["elapsed"] = time.monotonic() - started
        result["body"] = response.json()

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)  # let the request reach the server and start waiting
    return thread


def test_wait_returns_the_job_when_it_is_created(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    result: dict[str, Any] = {}
    thread = wait_in_background(tenant.server.url, robot, 30, result)
    job = create_job(tenant.api, process, Robot=robot)["guid"]
    thread.join(timeout=40)
    assert result["body"]["ConsumeJobErrorCode"] == 0
    assert json.loads(result["body"]["Job"])["GUID"] == job
    assert result["elapsed"] < 25  # woken, not timed out


def test_wait_times_out_with_no_new_job(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    with tenant.client(**robot_auth(robot)) as client:
        started = time.monotonic()
        body = client.post("/api/robot/waitJob", json={"RobotGUID": robot, "Timeout": 1}).json()
    assert body["ConsumeJobErrorCode"] == 102
    assert time.monotonic() - started >= 1


def test_a_job_for_another_robot_does_not_hand_over(tenant: Tenant) -> None:
    waiting, other = make_robot(tenant.api), make_robot(tenant.api)
    process = make_process(tenant.api)
    result: dict[str, Any] = {}
    thread = wait_in_background(tenant.server.url, waiting, 2, result)
    create_job(tenant.api, process, Robot=other)
    thread.join(timeout=20)
    assert result["body"]["ConsumeJobErrorCode"] == 102


def test_wait_bad_timeout(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    with tenant.client(**robot_auth(robot)) as client:
        response = client.post("/api/robot/waitJob", json={"RobotGUID": robot, "Timeout": 600})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "Timeout"


@pytest.fixture
def two_nodes(tmp_path: Any, pg_url_factory: list[str]) -> Any:
    url = pg.create_database()
    pg_url_factory.append(url)
    first = ServerProcess(data_dir=tmp_path / "a", database_url=url).start()
    second = ServerProcess(data_dir=tmp_path / "b", database_url=url, api_key=first.api_key).start()
    yield first, second
    first.stop()
    second.stop()


def test_wake_up_crosses_server_nodes(two_nodes: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = two_nodes
    api_second = second.client()
    robot = make_robot(api_second)
    process = make_process(api_second)
    result: dict[str, Any] = {}
    thread = wait_in_background(first.url, robot, 30, result)
    job = create_job(api_second, process, Robot=robot)["guid"]
    thread.join(timeout=40)
    assert result["body"]["ConsumeJobErrorCode"] == 0
    assert json.loads(result["body"]["Job"])["GUID"] == job
    assert result["elapsed"] < 25
