"""On PostgreSQL the one-task takes of a queue that arrive while one of its takes runs are
run together, as one statement (services.tasks.on_driver, runtime.coalescer,
db.task_statements.one_trip.group_take): each caller still gets its own task, under its own
lease, with its own history entry, a robot's task linked to its running job, in take order,
and a caller the queue had no task left for gets none.

The first take is held at its history INSERT by a lock on task_events taken in another
session, so the next takes are seen waiting in the coalescer before the lock is let go."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

from tests.service.conftest import Service
from tests.service.lean_paths import settled_queue
from tests.service.test_on_driver import _post, _running_job
from tests.support.fleet import make_robot, robot_auth
from tests.support.queues import add


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def _lock_waits(service: Service) -> int:
    with service.runtime.db.engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            or 0
        )


def _warm_queue(service: Service) -> str:
    """A new queue whose rules the front has cached (its first take is the session path's)."""
    queue = settled_queue(service, service.admin)
    add(service.admin, queue, "warm")
    _post(service.admin, "/api/task/take", Queue=queue)
    return queue


def _first_held_then_the_rest(
    service: Service, calls: int, call: Callable[[int], None], waiting: Callable[[], int]
) -> None:
    """Call 0 runs until its history INSERT waits on a lock on task_events; calls 1.. then
    start one at a time, each seen waiting in the coalescer (`waiting`) before the next, so
    their arrival order is known; then the lock goes and every call ends."""
    with service.runtime.db.engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE task_events IN EXCLUSIVE MODE"))
        threads = [threading.Thread(target=call, args=(n,)) for n in range(calls)]
        threads[0].start()
        _until(lambda: _lock_waits(service) == 1, "the first call waits on the lock")
        for arrived, thread in enumerate(threads[1:], 1):
            thread.start()
            _until(lambda arrived=arrived: waiting() == arrived, "the call waits in the coalescer")
        blocker.rollback()
    for thread in threads:
        thread.join(10)


def test_takes_arriving_together_run_as_one_statement_each_with_its_own_lease(
    pg_service: Service,
) -> None:
    service = pg_service
    runtime = service.runtime
    api = service.admin
    queue = _warm_queue(service)
    for n in range(5):
        add(api, queue, f"t{n}")
    robots = [make_robot(api) for _ in range(3)]
    job = _running_job(service, robots[1])  # robot 1 has a running job; 0 and 2 have none
    callers: list[TestClient] = [service.client(**robot_auth(guid)) for guid in robots]
    callers += [api, api]  # and an API key, twice
    callers.append(service.client(**robot_auth(robots[2])))  # six takers for five tasks
    answers: dict[int, dict[str, Any]] = {}

    def take(index: int) -> None:
        answers[index] = _post(callers[index], "/api/task/take", Queue=queue)

    groups_before, grouped_before = runtime.take_groups.groups, runtime.take_groups.grouped
    queue_id = _queue_id(service, queue)
    _first_held_then_the_rest(
        service, len(callers), take, lambda: runtime.take_groups.waiting(queue_id)
    )

    assert runtime.take_groups.groups == groups_before + 1
    assert runtime.take_groups.grouped == grouped_before + len(callers) - 1
    tasks = [answers[n]["tasks"] for n in range(len(callers))]
    assert [len(t) for t in tasks] == [1, 1, 1, 1, 1, 0]  # five tasks: the last got none
    taken = [t[0] for t in tasks[:5]]
    # In take order, in arrival order: the first alone, then the group's members.
    assert [t["name"] for t in taken] == ["t0", "t1", "t2", "t3", "t4"]
    assert len({t["lease_id"] for t in taken}) == 5
    assert all(t["status"] == 1 for t in taken)
    # A robot's task links to its running job, in the group as alone.
    assert [t["job_guid"] for t in taken] == [None, job, None, None, None]
    for caller, task in zip(callers, taken, strict=False):
        # Each lease is its caller's: it finishes the task, another's lease does not.
        other = next(t for t in taken if t is not task)
        wrong = {"Guid": task["guid"], "LeaseId": other["lease_id"], "Status": 2}
        assert caller.post("/api/task/finish", json=wrong).status_code != 200
        done = _post(
            caller, "/api/task/finish", Guid=task["guid"], LeaseId=task["lease_id"], Status=2
        )
        assert done["status"] == 2
    # Each history entry names its own caller.
    robot_names = [_robot_name(service, guid) for guid in robots]
    actors = [_take_actor(api, task["guid"]) for task in taken]
    assert actors[:3] == [f"robot '{name}'" for name in robot_names]
    assert actors[3] == actors[4] and not actors[3].startswith("robot ")


def _queue_id(service: Service, guid: str) -> int:
    with service.runtime.db.engine.connect() as connection:
        return int(connection.scalar(text("SELECT id FROM queues WHERE guid = :g"), {"g": guid}))


def _robot_name(service: Service, guid: str) -> str:
    with service.runtime.db.engine.connect() as connection:
        return str(connection.scalar(text("SELECT name FROM robots WHERE guid = :g"), {"g": guid}))


def _take_actor(api: TestClient, task: str) -> str:
    history = api.get(f"/api/task/history/{task}").json()
    [taken] = [entry for entry in history if entry["to_status"] == 1]
    return str(taken["actor"])


def test_finishes_arriving_together_run_as_one_statement_each_under_its_own_lease(
    pg_service: Service,
) -> None:
    service, api = pg_service, pg_service.admin
    robots = [make_robot(api) for _ in range(3)]
    callers = [service.client(**robot_auth(guid)) for guid in robots]
    queue = _warm_queue(service)
    runtime = service.runtime
    tasks = []
    for n, caller in enumerate(callers):
        add(api, queue, f"t{n}")
        tasks += _post(caller, "/api/task/take", Queue=queue)["tasks"]
    # The first finishes alone; then robot 1 its own task, robot 2 with robot 1's lease (not
    # its lease: the session path answers), robot 2 its own, and robot 1 its own again.
    finishes = [
        (callers[0], tasks[0]["guid"], tasks[0]["lease_id"]),
        (callers[1], tasks[1]["guid"], tasks[1]["lease_id"]),
        (callers[2], tasks[2]["guid"], tasks[1]["lease_id"]),
        (callers[2], tasks[2]["guid"], tasks[2]["lease_id"]),
        (callers[1], tasks[1]["guid"], tasks[1]["lease_id"]),
    ]
    answers: dict[int, Any] = {}

    def finish(index: int) -> None:
        caller, guid, lease = finishes[index]
        body = {"Guid": guid, "LeaseId": lease, "Status": 2}
        answers[index] = caller.post("/api/task/finish", json=body)

    groups_before = runtime.finish_groups.groups
    _first_held_then_the_rest(service, len(finishes), finish, runtime.finish_groups.waiting)

    assert runtime.finish_groups.groups == groups_before + 1
    statuses = [answers[n].status_code for n in range(len(finishes))]
    assert statuses[:2] == [200, 200] and statuses[3:] == [200, 200]
    assert statuses[2] == 409, answers[2].text  # another robot's lease: refused
    for n, task in ((0, tasks[0]), (1, tasks[1]), (3, tasks[2])):
        body = answers[n].json()
        assert (body["guid"], body["status"]) == (task["guid"], 2)
    # The same finish twice in one group: the task finished once, the second answered as a
    # finish retried is (the session path finds it finished under that lease).
    assert answers[4].json() == answers[1].json()
    actors = {task["guid"]: _finish_actors(api, task["guid"]) for task in tasks}
    names = [f"robot '{_robot_name(service, guid)}'" for guid in robots]
    assert [actors[task["guid"]] for task in tasks] == [[name] for name in names]


def _finish_actors(api: TestClient, task: str) -> list[str]:
    history = api.get(f"/api/task/history/{task}").json()
    return [str(entry["actor"]) for entry in history if entry["to_status"] == 2]
