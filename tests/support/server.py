"""A real Robofleet server process, started the way a user starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ADMIN_PASSWORD = "admin-password-for-tests"
SECRET_KEY = "test-signing-secret-" + "0123456789abcdef" * 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    data_dir: Path
    database_url: str | None = None
    api_key: str | None = field(default_factory=lambda: str(uuid.uuid4()))
    admin_password: str | None = ADMIN_PASSWORD
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOFLEET_")}
        env.update(
            {
                "ROBOFLEET_SECRET_KEY": SECRET_KEY,
                "ROBOFLEET_LOG_LEVEL": "warning",
                # The product default (1 s): at 0.2 s an idle server spent 8 % of a core on
                # scheduler passes, and a run keeps about twenty servers up at once. Tests that
                # time the scheduler set their own interval.
                "ROBOFLEET_SCHEDULER_INTERVAL_SECONDS": "1.0",
                # Every test calls from 127.0.0.1 and a session's tests share its servers, so
                # the login limit would couple unrelated tests (a fuzzer's failed logins would
                # lock the address for all). Its own tests start servers with the defaults.
                "ROBOFLEET_LOGIN_MAX_FAILURES": "1000",
                "ROBOFLEET_LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
                # Nearly every test makes an account, and the browser tests sign in: 0.2 s
                # of CPU per argon2id hash or check with the default profile, 0.03 s with
                # OWASP's minimum. tests/service/test_password_hashing.py checks both.
                "ROBOFLEET_PASSWORD_HASHING": "owasp",
            }
        )
        if self.database_url:
            env["ROBOFLEET_DATABASE_URL"] = self.database_url
        if self.api_key:
            env["ROBOFLEET_API_KEY"] = self.api_key
        if self.admin_password:
            env["ROBOFLEET_ADMIN_PASSWORD"] = self.admin_password
        env.update(self.env)
        return env

    def start(self, timeout: float = 60) -> ServerProcess:
        # A free port can be taken by another process (a parallel test worker) before the
        # server binds it: on a first start, try another; a restart keeps its URL.
        for _ in range(3 if self.process is None else 1):
            if self._start(timeout):
                return self
            self.port = free_port()
        raise RuntimeError(f"server could not bind a port:\n{self.output()}")

    def _start(self, timeout: float) -> bool:
        """Start and wait until this process (not another on the same port) answers; False
        if the port was taken."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}.log"
        log = self.log_path.open("a")
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
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "address already in use" in self.output():
                    return False
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                if self._listening() and httpx.get(f"{self.url}/healthz", timeout=1).is_success:
                    return True
            except (httpx.HTTPError, psutil.Error):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.output()}")

    def _listening(self) -> bool:
        assert self.process is not None
        parent = psutil.Process(self.process.pid)
        return any(
            conn.status == psutil.CONN_LISTEN and conn.laddr.port == self.port
            for proc in (parent, *parent.children(recursive=True))
            for conn in proc.net_connections("tcp")
        )

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        all_headers = dict(headers)
        if key or self.api_key:
            all_headers.setdefault("Key", key or self.api_key or "")
        return httpx.Client(base_url=self.url, headers=all_headers, timeout=30)
