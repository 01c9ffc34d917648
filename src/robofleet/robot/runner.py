"""Running one job's child process: its command and environment, its output as log lines, the
control folder it shares with the SDK, and stopping or killing it with everything it started."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from robofleet.contract import PARAMETER_PREFIX, JobEnv, LogLevel
from robofleet.robot import platform
from robofleet.robot.control import ControlFolder
from robofleet.robot.logship import LogLine
from robofleet.robot.robocorp import RobocorpSetup, prefixed, robocorp_variables
from robofleet.robot.robot_framework import parse_output

log = logging.getLogger(__name__)

MAX_LINE = 65536


@dataclass(frozen=True)
class JobSpec:
    job_guid: str
    process_version_guid: str
    kind: str
    entry_point: str
    python: Path
    job_dir: Path
    control_dir: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    default_task: str = ""
    server: str = ""
    robot_guid: str = ""
    robot_secret: str = field(default="", repr=False)
    sdk_path: Path | None = None
    stop_grace: float = 30.0
    robocorp: RobocorpSetup | None = None
    """A `robocorp` job: its task from robot.yaml."""
    robocorp_run: dict[str, str] | None = field(default=None, repr=False)
    """The job document's `Robocorp` object (ids and token); None when the server sent none."""


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stop_requested: bool
    aborted: bool
    return_value: Any
    last_error: str
    summary: str = ""
    """Robot Framework jobs: how the tests went, for the job's message."""
    tests_failed: int = 0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def build_command(spec: JobSpec, search_path: str | None = None) -> list[str]:
    """The child's argv; `search_path` (the child's PATH) finds a robocorp task's program, so
    `python` in robot.yaml means the job's interpreter on every system."""
    python, entry = str(spec.python), spec.entry_point
    if spec.kind == "python":
        if entry.startswith("module:"):
            return [python, "-m", entry.removeprefix("module:").strip()]
        return [python, str(spec.job_dir / entry)]
    if spec.kind == "robotframework":
        command = [python, "-m", "robot", "--outputdir", str(spec.job_dir / "robot-output")]
        for name, value in spec.parameters.items():
            command += ["--variable", f"{name}:{_text(value)}"]
        return [*command, entry]
    if spec.kind == "command":
        return shlex.split(entry, posix=platform.posix_command_line())
    if spec.kind == "robocorp" and spec.robocorp is not None:
        program, *arguments = spec.robocorp.argv
        if search_path is not None and Path(program).name == program:
            program = shutil.which(program, path=search_path) or program
        return [program, *arguments]
    raise ValueError(f"unknown package kind {spec.kind!r}")


def robot_framework_output(spec: JobSpec) -> Path | None:
    """Where a Robot Framework run leaves output.xml: robotframework packages in
    `robot-output`, a Robocorp `robotTaskName` task in robot.yaml's artifacts folder."""
    if spec.kind == "robotframework":
        return spec.job_dir / "robot-output" / "output.xml"
    if spec.robocorp is not None and spec.robocorp.runs_robot_framework:
        return spec.job_dir / spec.robocorp.artifacts_dir / "output.xml"
    return None


def build_env(spec: JobSpec, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(
        {
            JobEnv.SERVER: spec.server,
            JobEnv.ROBOT_GUID: spec.robot_guid,
            JobEnv.JOB_GUID: spec.job_guid,
            JobEnv.PROCESS_VERSION_GUID: spec.process_version_guid,
            JobEnv.JOB_PARAMETERS: json.dumps(spec.parameters),
            JobEnv.DEFAULT_TASK: spec.default_task,
            JobEnv.CONTROL_DIR: str(spec.control_dir),
            # Lines should reach the log as they are written, and decode the same everywhere.
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    # The job calls the server as its robot: with the robot's secret when it has one.
    if spec.robot_secret:
        env[JobEnv.ROBOT_SECRET] = spec.robot_secret
    else:
        env.pop(JobEnv.ROBOT_SECRET, None)
    if spec.sdk_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(spec.sdk_path), env.get("PYTHONPATH", "")) if p
        )
    # `python` in a command line means the job's interpreter.
    env["PATH"] = os.pathsep.join(p for p in (str(spec.python.parent), env.get("PATH", "")) if p)
    if spec.kind == "command":
        for name, value in spec.parameters.items():
            key = PARAMETER_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", str(name)).upper()
            env[key] = _text(value)
    if spec.robocorp is not None:
        root = spec.job_dir.resolve()
        # Robocorp's libraries take one URL: the first of the list, where the agent is now.
        server = spec.server.split(",", 1)[0]
        env.update(robocorp_variables(spec.robocorp, root, server, spec.robocorp_run))
        env["PATH"] = prefixed(spec.robocorp.path, root, env["PATH"])
        env["PYTHONPATH"] = prefixed(spec.robocorp.pythonpath, root, env.get("PYTHONPATH", ""))
    return env


class JobRunner:
    """One child process. Its output lines and the SDK's log lines go to `sink`, from the
    runner's threads; Error lines (stderr) also make the last error of a failed job."""

    def __init__(self, spec: JobSpec, sink: Callable[[LogLine], None]) -> None:
        self.spec = spec
        self._sink = sink
        self._lock = threading.RLock()  # guards reaping: a reaped pid may be reused
        self.control = ControlFolder(spec.control_dir, self._emit)
        self._popen: subprocess.Popen[bytes] | None = None
        self._root: psutil.Process | None = None
        self._threads: list[threading.Thread] = []
        self._done = threading.Event()
        self._grace_timer: threading.Timer | None = None
        self._last_error = ""
        self.stop_requested = False
        self.aborted = False

    def start(self) -> None:
        """Start the child. Call from a long-lived thread (see platform.child_popen_options)."""
        self.control.create()
        self.spec.job_dir.mkdir(parents=True, exist_ok=True)
        env = build_env(self.spec)
        command = build_command(self.spec, env.get("PATH"))
        log.info("job %s: running %s", self.spec.job_guid, command)
        self._popen = subprocess.Popen(
            command,
            cwd=self.spec.job_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **platform.child_popen_options(),
        )
        with contextlib.suppress(psutil.NoSuchProcess):
            self._root = psutil.Process(self._popen.pid)
        assert self._popen.stdout is not None and self._popen.stderr is not None
        for target, args in (
            (self._pump, (self._popen.stdout, LogLevel.INFO, "stdout")),
            (self._pump, (self._popen.stderr, LogLevel.ERROR, "stderr")),
            (self._tail_loop, ()),
        ):
            thread = threading.Thread(target=target, args=args, daemon=True, name="job-io")
            thread.start()
            self._threads.append(thread)

    @property
    def pid(self) -> int:
        assert self._popen is not None
        return self._popen.pid

    def poll(self) -> int | None:
        """The exit code once the child has ended (its leftover descendants are then killed)."""
        with self._lock:
            assert self._popen is not None
            if self._popen.returncode is not None:
                return self._popen.returncode
            if self._root is None:  # cannot look without reaping: no leftover hunt then
                return self._popen.poll()
            if platform.is_alive(self._root):
                return None
            # Ended but not reaped yet: its group id is still ours to kill leftovers with.
            platform.kill_tree(self._popen.pid)
            return self._popen.wait()

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return code

    def progress(self) -> int | None:
        return self.control.progress()

    def request_stop(self) -> None:
        """Soft stop: an interrupt and the stop file now, the kill after the grace period.

        The interrupt goes first: a script that polls should_stop() inside a try must take it
        there, not after seeing the file and leaving the try (the SDK marks the interrupt, so
        should_stop() is already true when it lands)."""
        with self._lock:
            if self.stop_requested:
                return
            self.stop_requested = True
            running = self._popen is not None and self.poll() is None
            if running:
                platform.send_soft_interrupt(self.pid)
            self.control.request_stop()
            if running:
                self._grace_timer = threading.Timer(self.spec.stop_grace, self._kill_after_grace)
                self._grace_timer.daemon = True
                self._grace_timer.start()

    def _kill_after_grace(self) -> None:
        with self._lock:
            if self.poll() is None:
                message = f"still running {self.spec.stop_grace:g}s after the stop request: killed"
                self._emit(LogLine(LogLevel.WARNING, message))
                platform.kill_tree(self.pid)

    def abort(self) -> None:
        """Hard stop: kill the child and all its descendants at once."""
        with self._lock:
            self.aborted = True
            if self._popen is not None and self.poll() is None:
                platform.kill_tree(self.pid)

    def finish(self) -> RunResult:
        """Wait for the child to end and collect everything it left."""
        while (code := self.poll()) is None:
            time.sleep(0.05)
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self.control.tail(final=True)
        summary, failed, value = "", 0, self.control.return_value()
        output = robot_framework_output(self.spec)
        if output is not None and output.is_file():
            try:
                run = parse_output(output)
            except Exception as exc:  # a half-written file after a kill
                self._emit(
                    LogLine(LogLevel.WARNING, f"could not read Robot Framework's output: {exc}")
                )
            else:
                for line in run.lines:
                    self._emit(line)
                value, summary, failed = run.return_value, run.summary(), run.count("FAIL")
        return RunResult(
            code, self.stop_requested, self.aborted, value, self._last_error, summary, failed
        )

    def _emit(self, line: LogLine) -> None:
        if line.level in (LogLevel.ERROR, LogLevel.CRITICAL):
            self._last_error = line.message  # for the message of a failed job
        self._sink(line)

    def _pump(self, pipe: IO[bytes], level: str, stream: str) -> None:
        with pipe:
            for raw in iter(lambda: pipe.readline(MAX_LINE), b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line.strip():
                    self._emit(LogLine(level, line, {"stream": stream}))

    def _tail_loop(self) -> None:
        while not self._done.wait(0.1):
            self.control.tail()
