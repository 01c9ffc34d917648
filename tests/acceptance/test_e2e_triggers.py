"""End to end on both stores: triggers made through the API create jobs on their own in a
real server; a real agent runs a cron trigger's jobs, and a queue trigger answers tasks added
through the API."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import make_process, make_robot
from tests.support.queues import add, eventually, make_queue
from tests.support.resources import ok

SUCCESS, IN_PROGRESS_TASK = 4, 1


def _jobs(tenant: Tenant, trigger: dict[str, Any]) -> list[dict[str, Any]]:
    page = ok(tenant.api.get("/api/job/list", params={"source": "Trigger", "count": 100}))
    return [j for j in page["items"] if j["schedule_id"] == trigger["id"]]


def test_a_cron_trigger_runs_jobs_on_a_real_agent(tenant: Tenant, tmp_path: Path) -> None:
    api = tenant.api
    robot = make_robot(api)
    process = make_process(api, script="print('fired by a trigger')\n")
    guid = ok(
        api.post(
            "/api/schedule/create",
            json={
                "Name": f"every-second-{uuid.uuid4().hex[:6]}",
                "ProcessingType": 2,
                "CronTab": "* * * * * *",
                "RobotId": robot,
                "ProcessId": process,
                "MaxRuns": 2,
                "Parameters": {"from": "trigger"},
            },
        )
    )["guid"]
    trigger = ok(api.get(f"/api/schedule/read/{guid}"))
    agent = AgentProcess(tenant.server.url, robot, tmp_path / "agent", wait_timeout=2).start()
    try:
        eventually(
            lambda: [j["status"] for j in _jobs(tenant, trigger)] == [SUCCESS, SUCCESS],
            timeout=40,
        )
    finally:
        agent.stop()
    jobs = _jobs(tenant, trigger)
    assert {(j["source"], j["schedule_id"]) for j in jobs} == {("Trigger", trigger["id"])}
    # Two runs were allowed: the trigger is Completed, and its history says what it did.
    assert ok(api.get(f"/api/schedule/read/{guid}"))["status"] == 2
    history = ok(api.get(f"/api/schedule/history/{guid}"))["items"]
    created = [f for f in history if f["outcome"] == "created"]
    assert len(created) == 2
    assert {f["reason"] for f in created} == {"schedule"}


def test_a_queue_trigger_answers_tasks_added_through_the_api(tenant: Tenant) -> None:
    api = tenant.api
    queue = make_queue(api)
    process = make_process(api)
    guid = ok(
        api.post(
            "/api/schedule/create",
            json={
                "Name": f"queue-{uuid.uuid4().hex[:6]}",
                "ProcessingType": 1,
                "ProcessId": process,
                "RobotId": make_robot(api),
                "WhenBusy": "fewest_pending",
                "Queue": queue,
                "QueueCondition": {"MinNewTasks": 1, "TasksPerJob": 1},
            },
        )
    )["guid"]
    trigger = ok(api.get(f"/api/schedule/read/{guid}"))
    first = add(api, queue, "first")
    # One New task is not more than one: no job (given the time a job would take to come).
    time.sleep(1)
    assert _jobs(tenant, trigger) == []
    add(api, queue, "second")
    eventually(lambda: len(_jobs(tenant, trigger)) == 2, timeout=10)
    tasks = {j["task_id"] for j in _jobs(tenant, trigger)}
    read = ok(api.get(f"/api/task/read/{first['guid']}"))
    assert read["id"] in tasks and read["status"] == IN_PROGRESS_TASK
    history = ok(api.get(f"/api/schedule/history/{guid}"))["items"]
    assert [f["reason"] for f in history] == ["queue", "queue"]
