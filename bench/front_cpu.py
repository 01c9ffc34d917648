"""Server CPU and context switches per request on the robot path, one request per call,
with the lean front on or off (ROBOFLEET_FAST_PATH), on SQLite or PostgreSQL.

    .venv/bin/python -m bench.front_cpu [--store sqlite|postgres] [--fast-path true|false]
        [--requests 2000] [--threads 4] [--py-spy FILE]

Prints one JSON line per operation: server CPU µs per request (user+system of the server
process and its children over the loop, divided by requests), context switches per request
(voluntary + involuntary, summed over the server's threads) and client-side requests/s.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil

from bench.common import Client, Server, create_pg_database, drop_pg_database, publish_noop
from robofleet.contract import IDEMPOTENCY_KEY_HEADER

LOG_LINES = 7
"""Lines per batch: what the fleet benchmark's robots send (40 a minute in 6 batches)."""


def _processes(server: Server) -> list[psutil.Process]:
    assert server.process is not None
    parent = psutil.Process(server.process.pid)
    return [parent, *parent.children(recursive=True)]


def _cpu_seconds(server: Server) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in _processes(server))


def _context_switches(server: Server) -> int:
    total = 0
    for process in _processes(server):
        for task in Path(f"/proc/{process.pid}/task").iterdir():
            try:
                status = (task / "status").read_text()
            except OSError:
                continue  # a thread that ended meanwhile
            for line in status.splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


def measure(
    server: Server, name: str, requests: int, call: Callable[[int], None]
) -> dict[str, object]:
    for i in range(min(100, requests)):  # warm caches (principal, queue) and connections
        call(i)
    cpu, switches, started = _cpu_seconds(server), _context_switches(server), time.perf_counter()
    for i in range(requests):
        call(i)
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(server) - cpu
    switches = _context_switches(server) - switches
    return {
        "operation": name,
        "requests": requests,
        "server_cpu_us_per_request": round(cpu / requests * 1e6),
        "context_switches_per_request": round(switches / requests, 1),
        "requests_per_second": round(requests / elapsed),
    }


def _robot_with_job(
    server: Server, admin: Client, robot: Client, guid: str, queue: str, requests: int
) -> list[dict[str, object]]:
    """What the SDK does: take naming the robot's running job, renew the lease, finish."""
    publish_noop(admin)
    status, job = admin.post("/api/job/create", {"Process": "noop", "Robot": guid})
    assert status == 200, job
    status, body = robot.post("/api/robot/consumeNextJob", {"RobotGUID": guid})
    assert status == 200 and body["ConsumeJobErrorCode"] == 0, body
    leases: list[dict[str, object]] = []

    def take(_: int) -> None:
        status, body = robot.post(
            "/api/task/take", {"Queue": queue, "Count": 1, "Job": job["guid"]}
        )
        assert status == 200 and body["tasks"] and body["tasks"][0]["job_guid"], body
        leases.append(body["tasks"][0])

    def renew(i: int) -> None:
        task = leases[i % len(leases)]
        status, body = robot.post(
            "/api/task/renew", {"Guid": task["guid"], "LeaseId": task["lease_id"]}
        )
        assert status == 200 and body["results"][0]["ok"], body

    def finish(_: int) -> None:
        task = leases.pop(0)
        status, body = robot.post(
            "/api/task/finish", {"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2}
        )
        assert status == 200, body

    def progress(i: int) -> None:
        status, body = robot.put(
            "/api/job/update", {"Guid": job["guid"], "Progress": i % 100, "Message": f"row {i}"}
        )
        assert status == 200, body

    def log_batch(i: int) -> None:
        lines = [
            {
                "Level": "Info",
                "Message": f"step {i}.{n}",
                "Time": time.time(),
                "JobGUID": job["guid"],
            }
            for n in range(LOG_LINES)
        ]
        status, body = robot.post("/api/log/batch", {"Lines": lines})
        assert status == 200, body

    status, body = robot.put("/api/job/update", {"Guid": job["guid"], "Status": 8})
    assert status == 200, body
    return [
        measure(server, "task take (robot, job)", requests, take),
        measure(server, "task renew (robot)", requests, renew),
        measure(server, "task finish (robot)", requests, finish),
        measure(server, "job update (robot, progress)", requests, progress),
        measure(server, f"log batch (robot, {LOG_LINES} lines)", requests, log_batch),
    ]


def _adds_and_creates(
    server: Server, admin: Client, robot: Client, guid: str, requests: int
) -> list[dict[str, object]]:
    """A robot's task adds (plain, keyed as the SDK sends them, with its own GUIDs), its take
    filtered by name, an operator's job create for that robot (the first step of dispatch)
    and for a robot group with a default task, and the robot's Failed report on each job
    created for it."""
    queue = "front-cpu-adds"
    admin.post("/api/queue/create", {"Name": queue})

    def add(i: int) -> None:
        status, body = robot.post("/api/task/create", {"Queue": queue, "Name": f"a{i}"})
        assert status == 200, body

    def keyed_add(i: int) -> None:
        status, body = robot.post(
            "/api/task/create",
            {"Queue": queue, "Name": f"k{i}"},
            headers={IDEMPOTENCY_KEY_HEADER: str(uuid.uuid4())},
        )
        assert status == 200, body

    def own_guid_add(i: int) -> None:
        body = {"Queue": queue, "Name": f"g{i}", "Guid": str(uuid.uuid4())}
        status, answer = robot.post("/api/task/create", body)
        assert status == 200 and answer["guid"] == body["Guid"], answer

    def filtered_take(_: int) -> None:
        # The plain adds' tasks (a0, a1, ...), none of the others.
        status, body = robot.post("/api/task/take", {"Queue": queue, "Name": "a*", "Count": 1})
        assert status == 200 and body["tasks"][0]["name"].startswith("a"), body

    created: list[str] = []

    def create(_: int) -> None:
        status, body = admin.post("/api/job/create", {"Process": "noop", "Robot": guid})
        assert status == 200, body
        created.append(body["guid"])

    admin.post("/api/robotGroup/create", {"Name": "front-cpu-group"})
    status, default_task = admin.post("/api/task/create", {"Queue": queue, "Name": "default"})
    assert status == 200, default_task

    def create_for_group(_: int) -> None:
        body = {"Process": "noop", "RobotGroup": "front-cpu-group", "Task": default_task["guid"]}
        status, answer = admin.post("/api/job/create", body)
        assert status == 200 and answer["task_id"] == default_task["id"], answer

    def failed(_: int) -> None:
        # The robot gives up a job it was sent (Pending -> Failed), holding no task of it.
        body = {"Guid": created.pop(), "Status": 5, "Message": "gave up"}
        status, answer = robot.put("/api/job/update", body)
        assert status == 200, answer

    return [
        measure(server, "task add (robot)", requests, add),
        measure(server, "task add (robot, Idempotency-Key)", requests, keyed_add),
        measure(server, "task add (robot, own GUID)", requests, own_guid_add),
        measure(server, "task take (robot, filtered by name)", requests, filtered_take),
        measure(server, "job create (operator)", requests, create),
        measure(server, "job create (operator, group, default task)", requests, create_for_group),
        measure(server, "job update (robot, Failed)", requests, failed),
    ]


def run(
    store: str, fast_path: str, requests: int, py_spy: str | None, threads: int
) -> list[dict[str, object]]:
    url = create_pg_database() if store == "postgres" else None
    server = Server(
        Path(tempfile.mkdtemp(prefix="front-cpu-")),
        database_url=url,
        env={
            "ROBOFLEET_FAST_PATH": fast_path,
            "ROBOFLEET_FAST_PATH_THREADS": str(threads),
            "ROBOFLEET_SCHEDULER_INTERVAL_SECONDS": "1",
            # One robot sends its log batches back to back: no per-robot line limit.
            "ROBOFLEET_LOG_LINES_PER_SECOND_PER_ROBOT": "0",
        },
    ).start()
    results: list[dict[str, object]] = []
    try:
        admin = Client(server.url, server.key)
        queue = "front-cpu"
        admin.post("/api/queue/create", {"Name": queue})
        total = 2 * (requests + 100)  # admin's takes, then the robot's naming its job
        for start in range(0, total, 5000):
            size = min(5000, total - start)
            tasks = [{"Name": f"t{start + i}"} for i in range(size)]
            status, body = admin.post("/api/task/bulkCreate", {"Queue": queue, "Tasks": tasks})
            assert status == 200, body
        status, robot = admin.post("/api/robot/create", {"Name": "front-cpu-robot"})
        assert status == 200, robot
        guid = robot["GUID"]
        robot_client = Client(
            server.url,
            headers={"Authorization": "Basic " + base64.b64encode(guid.encode()).decode()},
        )
        leases: list[dict[str, object]] = []

        def take(_: int) -> None:
            status, body = admin.post("/api/task/take", {"Queue": queue, "Count": 1})
            assert status == 200 and body["tasks"], body
            leases.append(body["tasks"][0])

        def finish(_: int) -> None:
            task = leases.pop(0)
            status, body = admin.post(
                "/api/task/finish",
                {"Guid": task["guid"], "LeaseId": task["lease_id"], "Status": 2},
            )
            assert status == 200, body

        def heartbeat(_: int) -> None:
            status, body = robot_client.post(
                "/api/robot/heartbeat", {"RobotGUID": guid, "Status": 2, "Machine": "bench"}
            )
            assert status == 200 and body["HeartbeatErrorCode"] == 0, body

        spy = None
        if py_spy:
            assert server.process is not None
            spy = subprocess.Popen(
                [
                    os.environ.get("PY_SPY", str(Path(sys.executable).parent / "py-spy")),
                    "record",
                    "-p",
                    str(server.process.pid),
                    "--gil",
                    "-f",
                    "raw",
                    "-o",
                    py_spy,
                    "-r",
                    "200",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        results.append(measure(server, "task take", requests, take))
        # The finishes match the measured takes (the warm-up takes are finished first).
        results.append(measure(server, "task finish", requests, finish))
        results.append(measure(server, "robot heartbeat", requests, heartbeat))

        def consume_none(_: int) -> None:
            status, body = robot_client.post("/api/robot/consumeNextJob", {"RobotGUID": guid})
            assert status == 200 and body["ConsumeJobErrorCode"] != 0, body

        results.append(measure(server, "consumeNextJob (no job)", requests, consume_none))
        results.extend(_robot_with_job(server, admin, robot_client, guid, queue, requests))
        results.extend(_adds_and_creates(server, admin, robot_client, guid, requests))
        if spy:
            spy.send_signal(2)
            spy.wait(timeout=60)
    finally:
        server.stop()
        if url:
            drop_pg_database(url)
    for result in results:
        result.update(store=store, fast_path=fast_path, threads=threads)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--fast-path", choices=["true", "false"], default="true")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4, help="ROBOFLEET_FAST_PATH_THREADS")
    parser.add_argument("--py-spy", help="record the server with py-spy (raw format) into FILE")
    args = parser.parse_args()
    for result in run(args.store, args.fast_path, args.requests, args.py_spy, args.threads):
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
