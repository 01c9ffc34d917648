"""Shared pieces of the benchmarks: a real server process, a fast HTTP client, statistics."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
from sqlalchemy.engine import make_url

PG_ADMIN = os.environ.get("ROBOFLEET_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_pg_database(prefix: str = "robofleet_bench") -> str:
    """A new database on PG_ADMIN's server, its URL PG_ADMIN's with the database's name (a
    query such as `?host=/var/run/postgresql`, to use a Unix socket, kept)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    data_dir: Path
    database_url: str | None = None
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOFLEET_")}
        env.update(
            {
                "ROBOFLEET_API_KEY": self.key,
                "ROBOFLEET_ADMIN_PASSWORD": "bench-password",
                "ROBOFLEET_LOG_LEVEL": "warning",
                "ROBOFLEET_WORKERS": str(self.workers),
                **self.env,
            }
        )
        if self.database_url:
            env["ROBOFLEET_DATABASE_URL"] = self.database_url.replace(
                "postgresql://", "postgresql+psycopg://"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "robofleet",
                "server",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if Client(self.url, self.key).get("/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Client:
    """A keep-alive HTTP/1.1 client with almost no overhead, so the load generator does not
    eat the CPU it measures."""

    def __init__(
        self, url: str, key: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        if key:
            self.headers["Key"] = key

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        sent = {**self.headers, **headers} if headers else self.headers
        try:
            self.conn.request(method, path, body=payload, headers=sent)
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle keep-alive connection (after 5 s): send it again.
            self.conn.close()
            self.conn.request(method, path, body=payload, headers=sent)
            response = self.conn.getresponse()
        raw = response.read()
        return response.status, (json.loads(raw) if raw else None)

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return self.request("POST", path, body, headers)

    def put(self, path: str, body: Any) -> tuple[int, Any]:
        return self.request("PUT", path, body)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def noop_package() -> bytes:
    """A package whose job runs `true`: dispatch and firing benchmarks measure the server."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("robofleet.json", json.dumps({"kind": "command", "entry_point": "true"}))
    return buffer.getvalue()


def publish_noop(client: Client) -> None:
    """Process `noop` with noop_package() as its current version."""
    status, body = client.post("/api/process/create", {"Name": "noop"})
    assert status == 200, body
    status, body = client.post(
        "/api/processVersion/create",
        {
            "Process": "noop",
            "FileName": "noop.zip",
            "MakeCurrent": True,
            "ProcessFile": base64.b64encode(noop_package()).decode(),
        },
    )
    assert status == 200, body


def cpu_of(processes: list[psutil.Process]) -> float:
    total = 0.0
    for each in processes:
        try:
            times = each.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL process on this machine now, by pid (backends come and
    go during a run, so a difference is taken pid by pid: cpu_spent)."""
    seen: dict[int, float] = {}
    for process in psutil.process_iter(["name"]):
        if "postgres" in (process.info["name"] or ""):
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seen[process.pid] = times.user + times.system
    return seen


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings by pid (a process that ended meanwhile is left
    out, one that started counts whole)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for each in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += each.memory_info().rss
    return total


class ServerMeter:
    """The server's CPU time and peak resident memory over a measured window.

    CPU is user + system time of the server process and its children (workers), read before
    and after; RSS is sampled every `interval` seconds by a thread, so a short peak between two
    samples can be missed (the figure is a floor). With `postgres`, PostgreSQL's CPU over the
    window too (all its processes on this machine: it must be otherwise quiet)."""

    def __init__(self, server: Server, interval: float = 0.2, *, postgres: bool = False) -> None:
        assert server.process is not None, "start the server first"
        root = psutil.Process(server.process.pid)
        self.processes = [root, *root.children(recursive=True)]
        self.interval = interval
        self.postgres = postgres
        self.peak_rss = 0
        self.cpu = 0.0
        self.postgres_cpu = 0.0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, _rss(self.processes))
            self._stop.wait(self.interval)

    def __enter__(self) -> ServerMeter:
        self._postgres_before = postgres_cpu() if self.postgres else {}
        self._cpu_before = cpu_of(self.processes)
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._started
        self.cpu = cpu_of(self.processes) - self._cpu_before
        if self.postgres:
            self.postgres_cpu = cpu_spent(self._postgres_before, postgres_cpu())
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, _rss(self.processes))

    def figures(self, operations: int) -> dict[str, float]:
        """CPU per operation (ms), CPU in cores over the window, peak RSS (MiB); PostgreSQL's
        CPU per operation and in cores when measured."""
        figures = {
            "server_cpu_ms_per_op": round(self.cpu * 1000 / max(operations, 1), 3),
            "server_cpu_cores": round(self.cpu / max(self.seconds, 1e-9), 2),
            "server_peak_rss_mib": round(self.peak_rss / 2**20, 1),
        }
        if self.postgres:
            figures["postgresql_cpu_ms_per_op"] = round(
                self.postgres_cpu * 1000 / max(operations, 1), 3
            )
            figures["postgresql_cpu_cores"] = round(self.postgres_cpu / max(self.seconds, 1e-9), 2)
        return figures


def load_average() -> float:
    """The 1-minute load average, noted beside every figure (the machine is shared)."""
    return round(os.getloadavg()[0], 2)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per key, the median of the numeric values over the repeats; other values from the first
    run. The repeats' raw figures stay in the JSON output under "runs"."""
    merged: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if isinstance(first, (int, float)) and not isinstance(first, bool) and values:
            merged[key] = round(statistics.median(values), 3)
        else:
            merged[key] = first
    return merged
