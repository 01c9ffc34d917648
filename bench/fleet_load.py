"""One load-generator process of the fleet benchmark: simulated robots on one asyncio loop.

Started by bench/fleet.py with its configuration as JSON on stdin; prints "ready" once its
schedule is built, starts at the wall-clock time given on the next stdin line ("go <time>"),
and prints its results as one JSON line at the end.

Each robot speaks the agent's and the SDK's wire forms (robot/client.py, sdk/queues.py,
sdk/resources.py): Basic auth with its GUID, heartbeats, log batches, task add (with an
Idempotency-Key), take, finish, text resource read. Each kind of operation is a periodic
stream with a random phase, so the offered load is even from the first second. A take that
got a task is followed, `work` seconds later, by its finish.

The HTTP client is a minimal HTTP/1.1 client on asyncio streams with keep-alive connections
per robot (a robot opens another when its operations overlap, as the agent's threads do, up to
`inflight` at once, 3 by default: heartbeat, log shipper, job), so
the generator costs little CPU per request; its own CPU and how late it started operations
are reported, to show it was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import random
import resource
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from robofleet.contract import IDEMPOTENCY_KEY_HEADER, RobotStatus, robot_authorization

KINDS = ("heartbeat", "log", "add", "take", "finish", "read")
WINDOW_SECONDS = 5.0
"""Latencies are also kept per window of this many seconds from the start, warm-up included,
to show how a step starts (a fleet's first contact) beside how it runs."""


class Closed(Exception):
    """The server closed a keep-alive connection before answering: send again on a new one."""


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            self.close()
            raise Closed
        status = int(status_line.split(b" ", 2)[1])
        length = -1
        chunked = close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.readexactly(length) if length > 0 else b""
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer = None


@dataclass
class Robot:
    guid: str
    host: bytes
    auth: bytes
    queue: str
    slots: asyncio.Semaphore
    idle: list[Connection] = field(default_factory=list)

    def head(self, method: str, path: str, body: bytes, extra: str = "") -> bytes:
        return (
            f"{method} {path} HTTP/1.1\r\nHost: ".encode()
            + self.host
            + b"\r\nAuthorization: "
            + self.auth
            + b"\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
            + extra.encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_error: str = ""
    late: list[float] = field(default_factory=list)
    windows: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    offered: int = 0
    done: int = 0
    done_all: int = 0
    empty_takes: int = 0
    log_lines: int = 0


class Fleet:
    def __init__(self, config: dict[str, Any]) -> None:
        host, port = config["url"].removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.rates: dict[str, float] = config["rates"]  # per robot per minute
        self.lines = int(config["log_lines"])  # per robot per minute
        self.resource: str = config["resource"]
        self.work = float(config["work"])
        self.warm_up = float(config["warm_up"])
        self.duration = float(config["duration"])
        self.robots = [
            Robot(
                guid,
                f"{host}:{port}".encode(),
                robot_authorization(guid).encode(),
                config["queues"][n % len(config["queues"])],
                asyncio.Semaphore(int(config.get("inflight", 3))),
            )
            for n, guid in enumerate(config["robots"])
        ]
        self.stats = Stats()
        self.outstanding: set[asyncio.Task[None]] = set()
        self.started: dict[asyncio.Task[None], float] = {}
        self.start = 0.0
        self.events: list[tuple[float, int, str, int]] = []
        rng = random.Random(config.get("seed", 13))
        total = self.warm_up + self.duration
        for index in range(len(self.robots)):
            for kind, per_minute in self.rates.items():
                period = 60.0 / per_minute
                at = rng.uniform(0, period)
                while at < total:
                    self.events.append((at, len(self.events), kind, index))
                    at += period
        heapq.heapify(self.events)

    def body(self, robot: Robot, kind: str, **extra: Any) -> tuple[str, str, bytes, str]:
        """(method, path, JSON body, extra headers) of one operation, as the agent/SDK sends it."""
        if kind == "heartbeat":
            payload: Any = {
                "RobotGUID": robot.guid,
                "Machine": "bench-host",
                "IP": "127.0.0.1",
                "MAC": "00:00:00:00:00:00",
                "Status": int(RobotStatus.READY),
                "JobGUID": "",
                "JobName": "",
                "JobType": 1,
                "Version": "bench",
            }
            return "POST", "/api/robot/heartbeat", json.dumps(payload).encode(), ""
        if kind == "log":
            count = extra["count"]
            now = round(time.time(), 6)
            lines = [
                {
                    "Level": "Info",
                    "Message": f"step {n}: invoice {uuid.uuid4().hex[:12]} posted",
                    "Fields": {"stream": "stdout"},
                    "Time": now,
                }
                for n in range(count)
            ]
            return "POST", "/api/log/batch", json.dumps({"Lines": lines}).encode(), ""
        if kind == "add":
            payload = {
                "Queue": robot.queue,
                "Name": f"invoice-{uuid.uuid4().hex[:10]}",
                "Parameters": {"amount": 42},
                "Description": "",
            }
            key = f"{IDEMPOTENCY_KEY_HEADER}: {uuid.uuid4()}\r\n"
            return "POST", "/api/task/create", json.dumps(payload).encode(), key
        if kind == "take":
            payload = {"Queue": robot.queue, "Count": 1}
            return "POST", "/api/task/take", json.dumps(payload).encode(), ""
        if kind == "finish":
            payload = {"Guid": extra["guid"], "LeaseId": extra["lease"], "Status": 2}
            return "POST", "/api/task/finish", json.dumps(payload).encode(), ""
        return "GET", f"/api/asset/read/{self.resource}", b"", ""

    async def send(self, robot: Robot, kind: str, **extra: Any) -> tuple[int, bytes]:
        method, path, body, headers = self.body(robot, kind, **extra)
        head = robot.head(method, path, body, headers)
        conn = robot.idle.pop() if robot.idle else Connection(self.host, self.port)
        try:
            try:
                answer = await conn.request(head, body)
            except (Closed, ConnectionResetError, BrokenPipeError):
                # The server dropped an idle keep-alive connection: nothing was processed.
                conn.close()
                answer = await conn.request(head, body)
        except BaseException:
            conn.close()
            raise
        robot.idle.append(conn)
        return answer

    async def operation(self, kind: str, index: int, due: float, **extra: Any) -> None:
        robot = self.robots[index]
        loop = asyncio.get_running_loop()
        started = loop.time()
        measured = due >= self.warm_up
        if measured:
            self.stats.offered += 1
            if kind != "finish":  # a finish waits for its take: its delay is the server's
                self.stats.late.append((started - self.start - due) * 1000)
        task = asyncio.current_task()
        if task is not None and kind != "finish":
            self.started[task] = started
        if kind == "log":
            extra["count"] = self.log_batch_size(index)
        try:
            # A robot has a few threads that call the server (heartbeat, log shipper, the
            # job's SDK calls), each waiting for its answer: at most `inflight` requests of one
            # robot are open at once; a later one waits here, and that wait counts in its
            # latency (measured from its scheduled start).
            async with robot.slots:
                status, data = await self.send(robot, kind, **extra)
        except Exception as exc:  # counted and reported; the run goes on
            status, data = 0, repr(exc).encode()
        elapsed = (loop.time() - started) * 1000
        self.stats.done_all += 1
        self.stats.windows[int(due // WINDOW_SECONDS)].append(elapsed)
        if measured:
            self.stats.done += 1
            self.stats.latencies[kind].append(elapsed)
            if kind == "log":
                self.stats.log_lines += extra["count"]
        if status != 200:
            self.stats.errors[f"{kind} {status}"] += 1
            self.stats.first_error = self.stats.first_error or f"{kind} {status} {data[:200]!r}"
            return
        if kind == "take":
            tasks = json.loads(data)["tasks"]
            if not tasks:
                self.stats.empty_takes += 1
                return
            task = tasks[0]
            finish_at = due + self.work
            if finish_at < self.warm_up + self.duration:
                await asyncio.sleep(max(0.0, self.start + finish_at - loop.time()))
                await self.operation(
                    "finish", index, finish_at, guid=task["guid"], lease=task["lease_id"]
                )

    def forget(self, task: asyncio.Task[None]) -> None:
        self.started.pop(task, None)

    def log_batch_size(self, index: int) -> int:
        """Lines per batch: the minute's lines spread over its batches (6 and 7 for 40/6)."""
        batches = self.rates["log"]
        base, extra = divmod(self.lines, int(batches))
        return base + (1 if random.random() < extra / batches else 0)

    async def run(self, go: float) -> None:
        loop = asyncio.get_running_loop()
        self.start = loop.time() + (go - time.time())
        while self.events:
            due, _, kind, index = heapq.heappop(self.events)
            delay = self.start + due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = loop.create_task(self.operation(kind, index, due))
            self.outstanding.add(task)
            task.add_done_callback(self.outstanding.discard)
            task.add_done_callback(self.forget)
        end = self.start + self.warm_up + self.duration
        await asyncio.sleep(max(0.0, end - loop.time()))
        # Answers still outstanding at the end: wait a little, then count the rest as lost
        # time (their latency is at least the time they have waited).
        if self.outstanding:
            await asyncio.wait(self.outstanding, timeout=10)
        now = loop.time()
        waited = [(now - self.started.get(task, now)) * 1000 for task in self.outstanding]
        for task in list(self.outstanding):
            task.cancel()
        # Their latency is at least how long they have waited so far (a floor).
        self.stats.latencies["unfinished"] = waited

    def result(self, cpu: float) -> dict[str, Any]:
        return {
            "latencies": dict(self.stats.latencies),
            "errors": dict(self.stats.errors),
            "first_error": self.stats.first_error,
            "late_ms": self.stats.late,
            "windows": {str(n): values for n, values in self.stats.windows.items()},
            "offered": self.stats.offered,
            "done": self.stats.done,
            "done_all": self.stats.done_all,
            "empty_takes": self.stats.empty_takes,
            "log_lines": self.stats.log_lines,
            "cpu_seconds": cpu,
        }


def main() -> None:
    config = json.loads(sys.stdin.readline())
    fleet = Fleet(config)
    print("ready", flush=True)
    go = float(sys.stdin.readline().split()[1])
    before = resource.getrusage(resource.RUSAGE_SELF)
    asyncio.run(fleet.run(go))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps(fleet.result(cpu)), flush=True)


if __name__ == "__main__":
    main()
