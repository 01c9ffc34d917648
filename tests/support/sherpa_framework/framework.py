"""A robot written against Sherpa's Python framework, step by step as its pages describe the
loop (spec section 27), with the framework's request forms: form-encoded bodies and
`Authorization: Basic base64(robot GUID)`. It uses neither Robofleet's SDK nor its agent, only
an HTTP client, so a test that runs it proves such a robot works against Robofleet unchanged.

Run: `python framework.py <settings.txt> [--scripts DIR] [--heartbeat-interval S]`.
settings.txt is the framework's: line 1 the robot GUID, line 2 the Orchestrator URL, line 3
auto-logoff (0/1). Like the framework it takes jobs while the heartbeat says `HasNewJob`,
runs each job's script (`ProcessVersion['Name']`, a relative path without `.py`, found under
the scripts folder) as a child process with the argument
`process_version_guid|job_guid|default_task_guid|settings_path`, and exits when there is no
new job (where the framework would then log the Windows session off).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent

# Job statuses the framework sets (spec 13.2), and the heartbeat's codes (spec 27).
IN_PROGRESS, SUCCESS, FAILED, STOPPED, ABORTED = 8, 4, 5, 7, 3
READY, WORKING = 2, 3
ABORT_REQUESTED, STOP_REQUESTED, ROBOT_NOT_FOUND = 10, 20, 101


@dataclass(frozen=True)
class Settings:
    robot_guid: str
    url: str
    auto_logoff: bool

    @classmethod
    def read(cls, path: Path) -> Settings:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        logoff = lines[2] if len(lines) > 2 and lines[2] else "1"
        return cls(robot_guid=lines[0], url=lines[1].rstrip("/"), auto_logoff=logoff == "1")


def basic_auth(robot_guid: str) -> dict[str, str]:
    token = base64.b64encode(robot_guid.encode("utf-8")).decode("utf-8")
    return {"Authorization": "Basic " + token}


def say(text: str) -> None:
    print(f"[framework] {text}", flush=True)


class Orchestrator:
    """The framework's own calls: heartbeat, consumeNextJob and job/update."""

    def __init__(self, settings: Settings) -> None:
        self.guid = settings.robot_guid
        self.http = httpx.Client(base_url=settings.url, headers=basic_auth(self.guid), timeout=60)
        self.machine = socket.gethostname()
        self.mac = ":".join(f"{(uuid.getnode() >> s) & 0xFF:02X}" for s in range(40, -1, -8))

    def heartbeat(self, status: int, job_guid: str = "", job_name: str = "") -> dict[str, Any]:
        response = self.http.post(
            "/api/robot/heartbeat",
            data={
                "RobotGUID": self.guid,
                "Machine": self.machine,
                "IP": "127.0.0.1",
                "MAC": self.mac,
                "Status": str(status),
                "JobGUID": job_guid,
                "JobName": job_name,
                "JobType": "1",
            },
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        say(f"heartbeat Status={status} -> {body}")
        return body

    def consume_next_job(self) -> dict[str, Any]:
        response = self.http.post(
            "/api/robot/consumeNextJob", data={"RobotGUID": self.guid, "Status": str(READY)}
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def update_job(self, job_guid: str, status: int) -> None:
        response = self.http.put("/api/job/update", data={"guid": job_guid, "status": str(status)})
        response.raise_for_status()
        say(f"job/update {job_guid} status={status} -> {response.json()}")


def soft_stop(child: subprocess.Popen[str]) -> None:
    """The framework sends SIGBREAK on Windows; SIGINT is its nearest POSIX cousin."""
    child.send_signal(getattr(signal, "SIGBREAK", signal.SIGINT))


def run_job(
    api: Orchestrator,
    settings_path: Path,
    scripts: Path,
    consumed: dict[str, Any],
    interval: float,
) -> int:
    job = json.loads(consumed["Job"])
    version = json.loads(consumed["ProcessVersion"])
    task = json.loads(consumed["Task"]) if consumed.get("Task") else {}
    job_guid, job_name = str(job["GUID"]), str(job.get("ProcessName") or "")
    api.update_job(job_guid, IN_PROGRESS)

    # `folder\sub\script` on Windows; the framework adds the extension.
    relative = str(version["Name"]).replace("\\", "/")
    script = scripts / f"{relative}.py"
    argument = "|".join(
        [str(version["GUID"]), job_guid, str(task.get("guid", "")), str(settings_path)]
    )
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    say(f"running {script} {argument}")
    child = subprocess.Popen([sys.executable, str(script), argument], env=env, text=True)

    stop_sent = False
    aborted = False
    while True:
        beat = api.heartbeat(WORKING, job_guid, job_name)
        code = beat.get("HeartbeatErrorCode", 0)
        if code == ABORT_REQUESTED:
            child.kill()
            child.wait()
            aborted = True
            break
        if code == STOP_REQUESTED and not stop_sent:
            soft_stop(child)
            stop_sent = True
        try:
            child.wait(timeout=interval)
            break
        except subprocess.TimeoutExpired:
            continue

    if aborted:
        final = ABORTED
    elif stop_sent:
        final = STOPPED
    else:
        final = SUCCESS if child.returncode == 0 else FAILED
    api.update_job(job_guid, final)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("settings", type=Path)
    parser.add_argument("--scripts", type=Path, default=HERE / "scripts")
    # The framework's pages ask for no more than one heartbeat every 10 s; tests go faster.
    parser.add_argument("--heartbeat-interval", type=float, default=10.0)
    args = parser.parse_args(argv)

    settings_path = args.settings.resolve()
    settings = Settings.read(settings_path)
    api = Orchestrator(settings)
    beat = api.heartbeat(READY)
    while True:
        if beat.get("HeartbeatErrorCode") == ROBOT_NOT_FOUND:
            say(f"robot not found: {beat.get('ErrorText')}")
            return 1
        if not beat.get("HasNewJob"):
            # The framework would now log the Windows session off (auto-logoff on).
            say("no new job: exiting" + (" (auto-logoff)" if settings.auto_logoff else ""))
            return 0
        consumed = api.consume_next_job()
        code = consumed.get("ConsumeJobErrorCode")
        if code == 0:
            run_job(api, settings_path, args.scripts, consumed, args.heartbeat_interval)
        elif code == 102:  # another call took the job first: ask again shortly
            time.sleep(args.heartbeat_interval)
        else:
            say(f"consumeNextJob failed: {consumed}")
            return 1
        beat = api.heartbeat(READY)


if __name__ == "__main__":
    sys.exit(main())
