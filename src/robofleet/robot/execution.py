"""One job, from "In Progress" to its final report.

Runs on the agent's protocol thread: the heartbeats and status updates sent here are never
concurrent with the agent's own. Only the preparation (download, extraction, environment
build) runs on a helper thread, so heartbeats go on while pip works.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from robofleet.contract import HeartbeatCode, JobStatus, LogLevel, RobotStatus
from robofleet.robot.artifacts import keep_artifacts
from robofleet.robot.client import RobotClient
from robofleet.robot.config import AgentSettings
from robofleet.robot.files import remove_tree
from robofleet.robot.logship import LogLine, LogShipper
from robofleet.robot.outbox import FinalReport, Outbox
from robofleet.robot.preparation import PREPARE_ERRORS, Prepared, prepare
from robofleet.robot.protocol import Assignment, ServerRefused, Unreachable
from robofleet.robot.robocorp import run_context
from robofleet.robot.runner import JobRunner, JobSpec, RunResult
from robofleet.robot.servers import ServerList

log = logging.getLogger(__name__)

TICK = 0.1
PROGRESS_EVERY = 0.5
LOG_HEAD_START = 60.0
"""Seconds a job's final report waits for its log lines to be delivered first. Bounded: a
log endpoint that keeps failing must not hold the job's result back for ever."""
SHUTDOWN_PATIENCE = 10.0
"""Seconds a shutting-down agent, its job over, still tries to deliver logs and results."""


class Farewell:
    """One time budget for everything left to deliver once the agent is leaving: the clock
    starts at the first question, when the job (if any) is over."""

    def __init__(self, seconds: float = SHUTDOWN_PATIENCE) -> None:
        self._seconds = seconds
        self._deadline: float | None = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        with self._lock:
            if self._deadline is None:
                self._deadline = time.monotonic() + self._seconds
            return max(0.0, self._deadline - time.monotonic())


@dataclass
class Services:
    """What a job borrows from its agent."""

    settings: AgentSettings
    client: RobotClient
    shipper: LogShipper
    outbox: Outbox
    shutdown: threading.Event
    hard_shutdown: threading.Event
    farewell: Farewell
    transport: httpx.BaseTransport | None = None


class JobExecution:
    def __init__(self, services: Services, assignment: Assignment) -> None:
        self.s = services
        self.job = assignment.job
        self.version = assignment.process_version
        self.task = assignment.task
        self.guid = str(self.job.get("GUID", "")).strip().lower()
        self.version_guid = str(self.version.get("GUID", ""))
        self.name = str(self.job.get("ProcessName") or self.version.get("Name") or "")
        work = services.settings.work_dir
        self.job_dir = work / "jobs" / self.guid
        self.control_dir = work / "control" / self.guid
        self.cancel = threading.Event()  # ends the preparation early
        self.stop_reason = ""
        self.aborted = False
        self.prepared: Prepared | None = None
        self.prepare_error = ""
        self._next_beat = 0.0
        self._sent_progress: int | None = None
        self._next_progress = 0.0

    def log(self, level: str, message: str, **fields: Any) -> None:
        line = LogLine(level, message, fields)
        self.s.shipper.add(line, job_guid=self.guid, process_version_guid=self.version_guid)

    def run(self) -> None:
        if not self.guid:
            log.error("the server handed out a job without a GUID: %s", self.job)
            return
        if not self._start():
            return
        try:
            report = self._execute()
        except Exception as exc:  # a bug must not lose the job: report it
            log.exception("job %s: agent error", self.guid)
            report = FinalReport(self.guid, JobStatus.FAILED, message=f"agent error: {exc}")
        self.log(
            LogLevel.ERROR if report.status == JobStatus.FAILED else LogLevel.INFO,
            f"job ended: {report.message}",
        )
        self._report(report)
        remove_tree(self.job_dir)
        remove_tree(self.control_dir)

    def _start(self) -> bool:
        """Set In Progress; a job stopped or aborted meanwhile is reported, never started."""
        try:
            self.s.client.update_job(self.guid, status=JobStatus.IN_PROGRESS, retry=None)
            log.info("job %s (%s) started", self.guid, self.name)
            return True
        except Unreachable:
            log.warning("job %s not started: the agent is shutting down", self.guid)
        except ServerRefused as exc:
            if exc.status_code != 409:
                log.error("job %s not started: %s", self.guid, exc)
                return False
            try:
                current = int(self.s.client.read_job(self.guid, retry=None).get("status", -1))
            except (Unreachable, ServerRefused) as read_error:
                log.error("job %s not started: %s; then %s", self.guid, exc, read_error)
                return False
            endings: dict[int, JobStatus] = {
                JobStatus.STOPPING: JobStatus.STOPPED,
                JobStatus.ABORTING: JobStatus.ABORTED,
            }
            ending = endings.get(current)
            log.info("job %s not started: its status is %s", self.guid, current)
            if ending is not None:
                self._report(FinalReport(self.guid, ending, message="ended before it started"))
        return False

    def _execute(self) -> FinalReport:
        remove_tree(self.job_dir)
        remove_tree(self.control_dir)
        helper = threading.Thread(target=self._prepare, name="job-prepare", daemon=True)
        helper.start()
        self._next_beat = time.monotonic() + self.s.settings.heartbeat_interval
        while helper.is_alive():
            self._tick(None)
            helper.join(TICK)
        if self.aborted or self.stop_reason:
            return self._ended_early()
        if self.prepared is None:
            self.log(LogLevel.ERROR, self.prepare_error)
            return FinalReport(self.guid, JobStatus.FAILED, message=self.prepare_error)
        spec = self._spec(self.prepared)
        if spec.robocorp is not None and spec.robocorp_run is None:
            self.log(
                LogLevel.WARNING,
                "the server sent no Robocorp run context: the Robocorp libraries will use "
                "their local files, not this server's work items, vault and storage",
            )
        runner = JobRunner(spec, self._sink)
        try:
            runner.start()
        except OSError as exc:
            message = f"could not start the job: {exc}"
            self.log(LogLevel.ERROR, message)
            return FinalReport(self.guid, JobStatus.FAILED, message=message)
        while runner.poll() is None:
            self._tick(runner)
            time.sleep(TICK)
        result = runner.finish()
        if spec.robocorp is not None and not self.aborted:
            artifacts = self.job_dir / spec.robocorp.artifacts_dir
            keep_artifacts(self.s.client, artifacts, self.guid, self.log)
        return self._decide(result, runner.progress())

    def _ended_early(self) -> FinalReport:
        if self.aborted:
            return FinalReport(self.guid, JobStatus.ABORTED, message="aborted before it started")
        return FinalReport(
            self.guid, JobStatus.STOPPED, message=f"{self.stop_reason} before it started"
        )

    def _decide(self, result: RunResult, progress: int | None) -> FinalReport:
        value = result.return_value
        if self.aborted:
            return FinalReport(self.guid, JobStatus.ABORTED, progress, value, "aborted")
        if self.stop_reason:
            return FinalReport(
                self.guid, JobStatus.STOPPED, progress, value, f"stopped: {self.stop_reason}"
            )
        if result.exit_code == 0:
            return FinalReport(
                self.guid, JobStatus.SUCCESS, progress, value, result.summary or "exit code 0"
            )
        detail = result.summary if result.tests_failed else result.last_error
        message = f"exit code {result.exit_code}" + (f": {detail}" if detail else "")
        return FinalReport(self.guid, JobStatus.FAILED, progress, value, message)

    def _tick(self, runner: JobRunner | None) -> None:
        if self.s.shutdown.is_set() and not self.stop_reason and not self.aborted:
            self._stop(runner, "the agent is shutting down")
        if self.s.hard_shutdown.is_set() and runner is not None:
            runner.abort()  # a second Ctrl+C: do not wait for the grace period
        now = time.monotonic()
        if now >= self._next_beat:
            self._next_beat = now + self.s.settings.heartbeat_interval
            self._beat(runner)
        if runner is not None and now >= self._next_progress:
            progress = runner.progress()
            if progress is not None and progress != self._sent_progress:
                self._next_progress = now + PROGRESS_EVERY
                try:
                    self.s.client.update_job(self.guid, progress=progress, retry=0)
                    self._sent_progress = progress
                except (Unreachable, ServerRefused) as exc:
                    log.debug("job %s: progress not sent: %s", self.guid, exc)

    def _beat(self, runner: JobRunner | None) -> None:
        try:
            reply = self.s.client.heartbeat(RobotStatus.WORKING, self.guid, self.name, retry=0)
        except (Unreachable, ServerRefused) as exc:
            log.debug("job %s: heartbeat failed: %s", self.guid, exc)
            return
        if reply.error_code == HeartbeatCode.STOP_REQUESTED and not self.stop_reason:
            self._stop(runner, "stop requested")
        elif reply.error_code == HeartbeatCode.ABORT_REQUESTED and not self.aborted:
            self.log(LogLevel.WARNING, "abort requested: killing the job")
            self.aborted = True
            self.cancel.set()
            if runner is not None:
                runner.abort()

    def _stop(self, runner: JobRunner | None, reason: str) -> None:
        grace = self.s.settings.stop_grace
        self.log(LogLevel.WARNING, f"{reason}: stopping the job (killed after {grace:g}s)")
        self.stop_reason = reason
        self.cancel.set()
        if runner is not None:
            runner.request_stop()

    def _report(self, report: FinalReport) -> None:
        """Saved first (it must survive a restart), then the job's logs are flushed (so the
        final message stays the job's last), then it is delivered."""
        s = self.s
        s.outbox.put(report)
        if not s.shipper.flush(timeout=LOG_HEAD_START, cancel=s.shutdown) and s.shutdown.is_set():
            s.shipper.flush(timeout=s.farewell.remaining())
        if not s.outbox.deliver(s.client, retry=None) and s.shutdown.is_set():
            s.outbox.deliver(s.client, retry=s.farewell.remaining())

    def _prepare(self) -> None:
        try:
            self.prepared = prepare(
                self.s.settings,
                self.version,
                self.job_dir,
                cancel=self.cancel,
                log=self.log,
                transport=self.s.transport,
                servers=self.s.client.servers,
            )
        except Exception as exc:  # whatever it is, it becomes the job's failure
            if not isinstance(exc, PREPARE_ERRORS):
                log.exception("job %s: preparing failed", self.guid)
            self.prepare_error = f"preparing the job failed: {exc}"

    def _spec(self, prepared: Prepared) -> JobSpec:
        parameters = self.job.get("Parameters") or {}
        if isinstance(parameters, str):
            parameters = json.loads(parameters) if parameters.strip() else {}
        return JobSpec(
            job_guid=self.guid,
            process_version_guid=self.version_guid,
            kind=prepared.manifest.kind,
            entry_point=prepared.manifest.entry_point,
            python=prepared.python,
            job_dir=self.job_dir,
            control_dir=self.control_dir,
            parameters=parameters if isinstance(parameters, dict) else {},
            default_task=self.task,
            # The job fails over like its agent, starting at the server the agent uses now.
            server=str(ServerList(self.s.client.servers.from_current())),
            robot_guid=self.s.settings.robot_guid,
            robot_secret=self.s.settings.secret or "",
            sdk_path=prepared.sdk,
            stop_grace=self.s.settings.stop_grace,
            robocorp=prepared.robocorp,
            robocorp_run=run_context(self.job) if prepared.robocorp is not None else None,
        )

    def _sink(self, line: LogLine) -> None:
        self.s.shipper.add(line, job_guid=self.guid, process_version_guid=self.version_guid)
