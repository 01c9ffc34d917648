"""Three server nodes on one PostgreSQL database and one data directory (blob folder), six
real agents spread over them (each agent's ROBOFLEET_SERVER list starts with a different
node), a continuous load of jobs and tasks through every node, and the node that leads the
scheduler SIGKILLed mid-run.

Then: every job whose create was acknowledged ran exactly once (one line in the runs file,
which each job appends its GUID to) and ended Success; no job ran twice; jobs created after the
kill ran too, among them one for each robot whose agent started on the killed node; every task
whose add was acknowledged was processed exactly once (taken by one take only, finished
Success, or, when a take's answer died with the node, failed by its lease and done by its
retry); a robot waiting on one node is woken by a job created on another; another node leads
the scheduler and a time trigger fires again."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from robofleet.contract import FAILOVER_STATUSES, JobStatus, TaskStatus
from tests.support import pg
from tests.support.agent import AgentProcess
from tests.support.fleet import make_process, make_robot, robot_auth
from tests.support.nodes import libpq, scheduler_leader, start_nodes
from tests.support.queues import eventually, make_queue
from tests.support.server import ServerProcess

AGENTS = 6
LOAD_BEFORE_KILL = 8.0
LOAD_AFTER_KILL = 10.0
JOB_EVERY = 0.4
TASK_EVERY = 0.1
LEASE_SECONDS = 5
SCHEDULER_LEASE_SECONDS = 5.0

SCRIPT = """
from robofleet import sdk

with open({runs!r}, "a") as runs:
    runs.write(sdk.job_guid() + "\\n")
"""


@dataclass
class Cluster:
    url: str
    nodes: list[ServerProcess]
    clients: list[httpx.Client] = field(default_factory=list)
    alive: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.clients = [node.client() for node in self.nodes]
        self.alive = [True] * len(self.nodes)

    def live(self) -> list[int]:
        return [i for i, up in enumerate(self.alive) if up]

    def call(self, start: int, send: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
        """`send` through node `start`, then the next ones on a network error or 502/503/504:
        what the agent and the SDK do. Raises the last network error if all fail."""
        problem: Exception | None = None
        for step in range(len(self.nodes)):
            client = self.clients[(start + step) % len(self.nodes)]
            try:
                response = send(client)
            except httpx.TransportError as exc:
                problem = exc
                continue
            if response.status_code not in FAILOVER_STATUSES:
                return response
        raise problem or AssertionError("every node answered 502-504")

    def sql(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(libpq(self.url), autocommit=True) as conn:
            return conn.execute(query, args).fetchall()


@pytest.fixture
def cluster(tmp_path: Path, pg_url_factory: list[str]) -> Iterator[Cluster]:
    url = pg.create_database()
    pg_url_factory.append(url)
    nodes = start_nodes(3, tmp_path / "data", url)
    made = Cluster(url, nodes)
    yield made
    for client in made.clients:
        client.close()
    for node in nodes:
        node.stop()


@dataclass
class Load:
    """What the load threads were told (acknowledged), and when."""

    jobs: dict[str, float] = field(default_factory=dict)  # job GUID -> created at (monotonic)
    tasks: set[str] = field(default_factory=set)
    takes: list[str] = field(default_factory=list)  # every task GUID every take answered
    stop: threading.Event = field(default_factory=threading.Event)
    adds_done: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)


def create_jobs(cluster: Cluster, load: Load, process: str, group: str) -> None:
    """One job every JOB_EVERY seconds, node after node; one attempt each (a create whose
    answer is lost is not acknowledged, so not counted)."""
    for n in itertools.count():
        if load.stop.wait(JOB_EVERY):
            return
        client = cluster.clients[n % len(cluster.nodes)]
        try:
            response = client.post(
                "/api/job/create", json={"Process": process, "RobotGroup": group}
            )
        except httpx.TransportError:
            continue
        if response.status_code == 200:
            load.jobs[response.json()["guid"]] = time.monotonic()
        elif response.status_code not in FAILOVER_STATUSES:
            load.errors.append(f"job create: {response.status_code} {response.text}")


def add_tasks(cluster: Cluster, load: Load, queue: str) -> None:
    """Tasks with the client's own GUID, so a retry through another node adds nothing twice."""
    try:
        for n in itertools.count():
            if load.stop.wait(TASK_EVERY):
                return
            guid = str(uuid.uuid4())
            body = {"Queue": queue, "Name": f"task-{n}", "Guid": guid}
            try:
                response = cluster.call(n, lambda c, b=body: c.post("/api/task/create", json=b))
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                load.tasks.add(guid)
            else:
                load.errors.append(f"task add: {response.status_code} {response.text}")
    finally:
        load.adds_done.set()  # the taker may stop once what was added is done


def work_tasks(cluster: Cluster, load: Load, queue: str) -> None:
    """Take through one node, finish through the next, until the load stopped and nothing is
    left to do (tasks whose take answer was lost come back as retries once their lease ends)."""
    for n in itertools.count():
        take = {"Queue": queue, "Count": 3, "LeaseSeconds": LEASE_SECONDS}
        try:
            response = cluster.clients[n % len(cluster.nodes)].post("/api/task/take", json=take)
        except httpx.TransportError:
            continue
        if response.status_code != 200:
            if response.status_code not in FAILOVER_STATUSES:
                load.errors.append(f"take: {response.status_code} {response.text}")
            continue
        tasks = response.json()["tasks"]
        load.takes.extend(task["guid"] for task in tasks)
        for task in tasks:
            body = {"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2}
            done = cluster.call(n + 1, lambda c, b=body: c.post("/api/task/finish", json=b))
            if done.status_code != 200:
                load.errors.append(f"finish: {done.status_code} {done.text}")
        if not tasks:
            if load.adds_done.is_set() and not unfinished(cluster, queue):
                return
            time.sleep(0.2)


def unfinished(cluster: Cluster, queue: str) -> int:
    rows = cluster.sql(
        "SELECT count(*) FROM tasks t JOIN queues q ON q.id = t.queue_id "
        "WHERE q.name = %s AND t.status IN (0, 1, 5)",
        queue,
    )
    return int(rows[0][0])


def wait_job(url: str, robot: str, result: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        result["body"] = httpx.post(
            f"{url}/api/robot/waitJob",
            headers=robot_auth(robot),
            json={"RobotGUID": robot, "Timeout": 30},
            timeout=60,
        ).json()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.slow
def test_a_node_killed_under_load_loses_nothing_and_runs_nothing_twice(
    cluster: Cluster, tmp_path: Path
) -> None:
    api = cluster.clients[0]
    runs = tmp_path / "runs.txt"
    runs.touch()
    process = make_process(api, script=SCRIPT.format(runs=str(runs)))
    group = f"fleet-{uuid.uuid4().hex[:6]}"
    assert api.post("/api/robotGroup/create", json={"Name": group}).status_code == 200
    robots = [make_robot(api, f"agent-{i}") for i in range(AGENTS)]
    for robot in robots:
        added = api.put(
            "/api/robotGroup/addRobot", json={"RobotGroupGuid": group, "RobotGuid": robot}
        )
        assert added.status_code == 200, added.text
    queue = make_queue(api, RetryApplication=1, MaxRetries=3)

    # A time trigger for a robot no agent serves: its fires show the scheduler at work.
    timer_robot = make_robot(api, "timer")
    timer = {
        "Name": "every-two-seconds",
        "ProcessingType": 2,
        "CronTab": "*/2 * * * * *",
        "RobotId": timer_robot,
        "WhenBusy": "fewest_pending",
        "ProcessId": process,
    }
    assert api.post("/api/schedule/create", json=timer).status_code == 200

    leader = scheduler_leader(cluster.url, cluster.nodes)
    killed = cluster.nodes.index(leader)
    urls = [node.url for node in cluster.nodes]
    agents = []
    for i, robot in enumerate(robots):
        first = i % len(urls)
        servers = ",".join(urls[first:] + urls[:first])
        agents.append(
            AgentProcess(
                servers, robot, tmp_path / f"agent-{i}", cache_dir=tmp_path / "cache"
            ).start()
        )
    load = Load()
    threads = [
        threading.Thread(target=create_jobs, args=(cluster, load, process, group)),
        threading.Thread(target=add_tasks, args=(cluster, load, queue)),
        threading.Thread(target=work_tasks, args=(cluster, load, queue)),
    ]
    try:
        for thread in threads:
            thread.start()
        time.sleep(LOAD_BEFORE_KILL)
        leader.kill()
        cluster.alive[killed] = False
        killed_at = time.monotonic()
        killed_wall = datetime.now(UTC)

        # A robot waiting on one surviving node gets a job created on the other.
        waiter_node, creator_node = (i for i in cluster.live())
        waiter = make_robot(cluster.clients[creator_node], "waiter")
        result: dict[str, Any] = {}
        waiting = wait_job(urls[waiter_node], waiter, result)
        time.sleep(0.5)  # the wait has reached its node
        woken = cluster.clients[creator_node].post(
            "/api/job/create", json={"Process": process, "Robot": waiter}
        )
        assert woken.status_code == 200, woken.text

        # Each robot whose agent started on the killed node gets a job of its own.
        stranded = {
            robot: cluster.call(
                creator_node,
                lambda c, r=robot: c.post("/api/job/create", json={"Process": process, "Robot": r}),
            ).json()["guid"]
            for i, robot in enumerate(robots)
            if i % len(urls) == killed
        }
        time.sleep(LOAD_AFTER_KILL)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=120)
    waiting.join(timeout=60)

    assert result["body"]["ConsumeJobErrorCode"] == 0, result  # woken, not timed out
    assert "GUID" in result["body"]["Job"] and woken.json()["guid"] in result["body"]["Job"]

    acknowledged = {**load.jobs, **{guid: killed_at for guid in stranded.values()}}
    surviving = cluster.clients[cluster.live()[0]]

    def settled() -> bool:
        rows = cluster.sql(
            "SELECT count(*) FROM jobs WHERE guid = ANY(%s) AND status IN (3, 4, 5)",
            list(acknowledged),
        )
        return int(rows[0][0]) == len(acknowledged)

    eventually(settled, timeout=180)
    for agent in agents:
        agent.stop()
    statuses = dict(
        cluster.sql("SELECT guid, status FROM jobs WHERE guid = ANY(%s)", list(acknowledged))
    )
    assert not load.errors
    assert {g: s for g, s in statuses.items() if s != JobStatus.SUCCESS} == {}
    ran = Counter(runs.read_text().split())
    assert {guid: n for guid, n in ran.items() if n > 1} == {}  # no job ran twice
    assert {guid for guid in acknowledged if ran[guid] != 1} == set()
    after_kill = [guid for guid, at in load.jobs.items() if at > killed_at]
    assert after_kill, "the load went on after the kill"
    for robot, job in stranded.items():  # the killed node's agents carried on elsewhere
        assert surviving.get(f"/api/job/read/{job}").json()["robot_guid"] == robot

    # Tasks: none taken twice, every acknowledged one done (itself or by its retry).
    assert {guid: n for guid, n in Counter(load.takes).items() if n > 1} == {}
    rows = cluster.sql(
        "SELECT t.guid::text, t.status, t.error_type, p.guid::text FROM tasks t "
        "LEFT JOIN tasks p ON p.id = t.parent_task_id"
    )
    status = {guid: (s, error) for guid, s, error, _ in rows}
    retry_of = {parent: guid for guid, _, _, parent in rows if parent}

    def done(guid: str) -> bool:
        state, error = status[guid]
        if state == TaskStatus.SUCCESS:
            return True
        return error == "LeaseExpired" and guid in retry_of and done(retry_of[guid])

    undone = {
        guid: (status[guid], surviving.get(f"/api/task/history/{guid}").json())
        for guid in load.tasks
        if not done(guid)
    }
    assert load.tasks and undone == {}

    # Another node leads the scheduler, and the timer fires again once the lease moved.
    moved = killed_wall + timedelta(seconds=SCHEDULER_LEASE_SECONDS)
    fires = cluster.sql("SELECT max(scheduled_at) FROM trigger_fires")
    assert fires[0][0] is not None and fires[0][0] > moved
