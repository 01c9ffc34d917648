"""The SDK's take_each against a real server, on both stores: tasks taken and finished in
batches, each task done exactly once, far fewer calls than two per task (counted by the
server's /metrics), the rest of a batch given back when the loop ends early, held leases
renewed, and a refused finish raised to the loop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robofleet.contract import API_KEY_VARIABLE, JobEnv, TaskStatus
from robofleet.sdk import FinishRefused, queue
from tests.acceptance.conftest import Tenant
from tests.support.queues import eventually, make_queue, read
from tests.support.scrape import scrape

SUCCESS = int(TaskStatus.SUCCESS)


@pytest.fixture(autouse=True)
def sdk_env(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK in this process, outside a robot: the server and the account's key."""
    for name in (JobEnv.ROBOT_GUID, JobEnv.ROBOT_SECRET, JobEnv.JOB_GUID, JobEnv.CONTROL_DIR):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(JobEnv.SERVER, tenant.server.url)
    monkeypatch.setenv(API_KEY_VARIABLE, tenant.key)


def fill(tenant: Tenant, count: int) -> tuple[str, list[str]]:
    name = make_queue(tenant.api)
    added = queue(name).add_many([{"Name": f"t{i:03}"} for i in range(count)])
    return name, list(added["guids"])


def task_calls(tenant: Tenant) -> float:
    """The server's count of task operations answered so far (take, finish, renew...)."""
    with tenant.server.client() as client:
        found = scrape(client).matching("robofleet_http_requests_total")
    return sum(value for labels, value in found.items() if dict(labels)["operation"][:5] == "Task-")


def statuses(tenant: Tenant, guids: list[str]) -> list[int]:
    return [int(read(tenant.api, guid)["status"]) for guid in guids]


def successes(tenant: Tenant, guid: str) -> int:
    events = tenant.api.get(f"/api/task/history/{guid}").json()
    return sum(1 for event in events if event["to_status"] == SUCCESS)


def test_a_default_drain_does_each_task_once_in_few_calls(tenant: Tenant) -> None:
    name, guids = fill(tenant, 50)
    before = task_calls(tenant)
    seen = []
    for task in queue(name).take_each():
        with task:
            seen.append(task.guid)
    calls = task_calls(tenant) - before
    assert sorted(seen) == sorted(guids)
    assert statuses(tenant, guids) == [SUCCESS] * 50
    assert all(successes(tenant, guid) == 1 for guid in guids)
    # 5 takes of 10 and the empty one, 5 finish calls (a slow machine may add a timed flush).
    assert 11 <= calls <= 15, calls


def test_batch_1_takes_and_finishes_one_task_per_call(tenant: Tenant) -> None:
    name, guids = fill(tenant, 5)
    before = task_calls(tenant)
    for task in queue(name).take_each(batch=1):
        with task:
            pass
    assert task_calls(tenant) - before == 11  # 6 takes (the last empty), 5 finishes
    assert statuses(tenant, guids) == [SUCCESS] * 5


def test_a_break_releases_the_unstarted_tasks_as_new(tenant: Tenant) -> None:
    name, guids = fill(tenant, 10)
    handed = []
    for task in queue(name).take_each():
        handed.append(task.guid)
        if len(handed) == 4:
            break  # the 4th task in hand, unfinished
        with task:
            pass
    done, current = handed[:3], handed[3]
    rest = [guid for guid in guids if guid not in handed]
    assert statuses(tenant, done) == [SUCCESS] * 3
    failed = read(tenant.api, current)
    assert failed["status"] == TaskStatus.FAILED_APPLICATION
    assert failed["error"]["type"] == "LoopEnded"
    # Given back untouched: Postponed until now, New again at the scheduler's next round.
    eventually(lambda: statuses(tenant, rest) == [int(TaskStatus.NEW)] * 6)
    for guid in rest:
        row = read(tenant.api, guid)
        assert row["retries"] == 0 and not row["error"], row
    again = [task.guid for task in queue(name).take_each()]
    assert sorted(again) == sorted(rest)


def test_an_exception_out_of_the_loop_releases_the_rest_at_once(tenant: Tenant) -> None:
    name, guids = fill(tenant, 6)
    handed = []
    with pytest.raises(KeyError):
        for task in queue(name).take_each(batch=6):
            handed.append(task.guid)
            if len(handed) == 2:
                raise KeyError("outside any `with task:`")
    first, current = handed
    assert read(tenant.api, first)["status"] == SUCCESS  # left unfinished, moved on: Success
    assert read(tenant.api, current)["status"] == TaskStatus.FAILED_APPLICATION
    rest = [guid for guid in guids if guid not in handed]
    assert all(s in (TaskStatus.POSTPONED, TaskStatus.NEW) for s in statuses(tenant, rest))
    eventually(lambda: statuses(tenant, rest) == [int(TaskStatus.NEW)] * 4)


def test_held_leases_are_renewed_while_the_loop_works(tenant: Tenant) -> None:
    name, guids = fill(tenant, 2)
    for task in queue(name).take_each(lease_seconds=5, batch=2):
        with task:
            time.sleep(3.5)  # the second is finished 7 s after the take
    assert statuses(tenant, guids) == [SUCCESS] * 2


def test_a_refused_finish_is_raised_by_the_loop(tenant: Tenant) -> None:
    name, guids = fill(tenant, 3)
    with pytest.raises(FinishRefused) as refused:
        for task in queue(name).take_each():
            with task:
                if task.guid == guids[0]:
                    # An operator fails it by hand while the robot works on it.
                    changed = tenant.api.put(
                        "/api/task/update", json={"Guid": task.guid, "Status": 4}
                    )
                    assert changed.status_code == 200, changed.text
    assert [(r.guid, r.code) for r in refused.value.refusals] == [(guids[0], "lease_lost")]
    assert refused.value.status == 409 and refused.value.code == "finish_refused"
    assert statuses(tenant, guids) == [int(TaskStatus.FAILED_BUSINESS), SUCCESS, SUCCESS]


def test_a_refusal_found_by_the_timed_flush_ends_the_loop_at_its_next_step(
    tenant: Tenant,
) -> None:
    name, guids = fill(tenant, 4)
    handed = []
    with pytest.raises(FinishRefused):
        for task in queue(name).take_each():
            handed.append(task.guid)
            with task:
                if len(handed) == 1:
                    tenant.api.put("/api/task/update", json={"Guid": task.guid, "Status": 4})
                else:
                    time.sleep(3)  # the background flush sends the first finish (after ~1 s)
    assert handed == guids[:2]
    assert statuses(tenant, guids[:2]) == [int(TaskStatus.FAILED_BUSINESS), SUCCESS]
    eventually(lambda: statuses(tenant, guids[2:]) == [int(TaskStatus.NEW)] * 2)


EXITS_MID_LOOP = """
import sys
import threading
import time
from robofleet.sdk import queue

def keep(loop):
    time.sleep(3600)  # a daemon thread's frame is never let go: the loop is never closed

loop = queue(sys.argv[1]).take_each(batch=5)
with next(loop):
    pass  # its Success waits in the outbox: the process exits before any flush
held = next(loop)
threading.Thread(target=keep, args=(loop,), daemon=True).start()
del loop
"""


def test_finishes_waiting_at_exit_are_sent_and_the_untouched_tasks_released(
    tenant: Tenant, tmp_path: Path
) -> None:
    name, guids = fill(tenant, 5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOFLEET_")}
    env.update({JobEnv.SERVER: tenant.server.url, API_KEY_VARIABLE: tenant.key})
    script = tmp_path / "exits.py"
    script.write_text(EXITS_MID_LOOP)
    done = subprocess.run(
        [sys.executable, str(script), name], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert read(tenant.api, guids[0])["status"] == SUCCESS
    # Only the exit hook ran (the loop was never closed): the task in hand is left to its
    # lease, as the body may have been cut anywhere.
    assert read(tenant.api, guids[1])["status"] == TaskStatus.IN_PROGRESS
    eventually(lambda: statuses(tenant, guids[2:]) == [int(TaskStatus.NEW)] * 3)
