"""A real robot agent process (`robofleet robot`), as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AgentProcess:
    server_url: str
    robot_guid: str
    work_dir: Path
    cache_dir: Path | None = None
    heartbeat_interval: float = 0.5
    wait_timeout: float = 5
    stop_grace: float = 3
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> AgentProcess:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.work_dir.parent / f"agent-{self.robot_guid[:8]}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOFLEET_")}
        env.update(self.env)
        command = [
            sys.executable,
            "-m",
            "robofleet",
            "robot",
            "--server",
            self.server_url,
            "--robot",
            self.robot_guid,
            "--work-dir",
            str(self.work_dir),
            "--heartbeat-interval",
            str(self.heartbeat_interval),
            "--wait-timeout",
            str(self.wait_timeout),
            "--stop-grace",
            str(self.stop_grace),
        ]
        if self.cache_dir:
            command += ["--cache-dir", str(self.cache_dir)]
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log_path.open("a"), stderr=subprocess.STDOUT, text=True
        )
        return self

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self, timeout: float = 30) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
