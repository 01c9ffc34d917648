"""The agent's main loop: deliver finished reports, heartbeat, wait for a job, run it.

Every protocol call that changes state (heartbeat, waitJob, job/update) is made one after the
other on the thread that calls Agent.run(): the server reconciles on "Ready with no JobGUID"
heartbeats (it releases or fails the robot's jobs), so such a heartbeat must never race a job
being taken or reported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import NoReturn

import httpx

from robofleet.contract import STOP_COMMAND, ConsumeCode, HeartbeatCode, RobotStatus
from robofleet.robot import platform
from robofleet.robot.client import RobotClient
from robofleet.robot.config import AgentSettings
from robofleet.robot.execution import Farewell, JobExecution, Services
from robofleet.robot.files import LockTimeout, dir_lock, remove_tree
from robofleet.robot.logship import LogShipper
from robofleet.robot.outbox import Outbox
from robofleet.robot.protocol import Assignment, ServerRefused, Unreachable
from robofleet.robot.servers import ServerList

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BUSY = 1
"""Another agent already uses this work folder (the same robot on this machine)."""


def end_process(code: int) -> NoReturn:
    """End the agent's process with `code` once Agent.run has returned (the outbox delivered
    or kept, the server told, the threads stopped, the work folder unlocked). Python's own
    teardown of every module the command loaded, the server's among them, takes most of a
    second on a busy machine, and an idle agent must be gone within a second of SIGTERM:
    flush what is buffered and skip it."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None under pythonw on Windows
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(code)


class Agent:
    def __init__(
        self, settings: AgentSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.shutdown = threading.Event()
        self.hard_shutdown = threading.Event()
        self.farewell = Farewell()
        # One list for every client of the agent: a node found dead is left by all of them.
        self.servers = ServerList.parse(settings.server)
        self.client = RobotClient(
            self.servers,
            settings.robot_guid,
            secret=settings.secret,
            cancel=self.shutdown,
            transport=transport,
        )
        # The shipper posts from its own thread: it gets its own client.
        self.shipper = LogShipper(
            RobotClient(
                self.servers, settings.robot_guid, secret=settings.secret, transport=transport
            ),
            flush_interval=settings.log_flush_interval,
        )
        self.outbox = Outbox(settings.work_dir / "outbox")
        self._problem = ""
        self._switched_off = False

    def request_shutdown(self) -> None:
        """Stop taking work and stop the running job; a second request kills it at once."""
        if self.shutdown.is_set():
            log.warning("shutting down now: killing the running job")
            self.hard_shutdown.set()
            return
        log.info("shutting down: the running job (if any) is stopped, then the agent exits")
        self.shutdown.set()

    def install_signal_handlers(self) -> None:
        """Call from the main thread (Python delivers signals there)."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self.request_shutdown()

        for sig in platform.shutdown_signals():
            signal.signal(sig, handler)

    def run(self) -> int:
        work = self.settings.work_dir
        work.mkdir(parents=True, exist_ok=True)
        try:
            with dir_lock(work / "agent.lock", stale_after=float("inf"), wait=0):
                return self._run()
        except LockTimeout:
            log.error("another agent already runs with the work folder %s", work)
            return EXIT_BUSY

    def _run(self) -> int:
        work = self.settings.work_dir
        for leftover in ("jobs", "control"):  # folders of jobs a crashed agent left behind
            remove_tree(work / leftover)
        log.info(
            "robot %s serving %s (work folder %s, cache %s)",
            self.settings.robot_guid,
            self.settings.server,
            work,
            self.settings.cache_dir,
        )
        self.shipper.start()
        try:
            while not self.shutdown.is_set():
                try:
                    self._cycle()
                except Exception:  # e.g. a full disk: keep serving, never crash
                    log.exception("unexpected error; carrying on")
                    self._pause()
        finally:
            self._leave()
        return EXIT_OK

    def _cycle(self) -> None:
        # A Ready heartbeat would fail a job whose result is still in the outbox: deliver first.
        if not self.outbox.deliver(self.client, retry=None):
            self._pause()
            return
        try:
            beat = self.client.heartbeat(RobotStatus.READY, retry=None)
        except Unreachable:
            return
        except ServerRefused as exc:
            self._trouble(f"heartbeat refused: {exc}")
            return
        if beat.error_code == HeartbeatCode.ROBOT_NOT_FOUND:
            self._trouble(f"the server does not know this robot: {beat.error_text}")
            return
        if not beat.active or beat.command == STOP_COMMAND:
            if not self._switched_off:
                log.warning("the robot is switched off on the server: taking no jobs")
                self._switched_off = True
            self._pause()
            return
        if self._switched_off:
            log.info("the robot is switched on again")
            self._switched_off = False
        self._problem = ""
        assignment = self._wait_job()
        if assignment is None or self.shutdown.is_set():
            # A job taken now goes back to the queue with the Ready heartbeat on the way out.
            return
        JobExecution(self._services(), assignment).run()

    def _wait_job(self) -> Assignment | None:
        try:
            assignment = self.client.wait_job(self.settings.wait_timeout, retry=None)
        except Unreachable:
            return None
        except ServerRefused as exc:
            self._trouble(f"waitJob refused: {exc}")
            return None
        if assignment.code == ConsumeCode.ROBOT_NOT_FOUND:
            self._trouble(f"the server does not know this robot: {assignment.error_text}")
        return assignment if assignment.code == ConsumeCode.JOB_GIVEN else None

    def _services(self) -> Services:
        return Services(
            settings=self.settings,
            client=self.client,
            shipper=self.shipper,
            outbox=self.outbox,
            shutdown=self.shutdown,
            hard_shutdown=self.hard_shutdown,
            farewell=self.farewell,
            transport=self.transport,
        )

    def _trouble(self, problem: str) -> None:
        if problem != self._problem:
            log.error("%s; retrying every %gs", problem, self.settings.heartbeat_interval)
            self._problem = problem
        self._pause()

    def _pause(self) -> None:
        self.shutdown.wait(self.settings.heartbeat_interval)

    def _leave(self) -> None:
        """Deliver what is left, tell the server we hold no job, and stop the threads."""
        try:
            if self.outbox.deliver(self.client, retry=self.farewell.remaining()):
                # Also hands back a job taken but not started while we were shutting down.
                self.client.heartbeat(RobotStatus.READY, retry=min(2.0, self.farewell.remaining()))
            else:
                log.warning(
                    "undelivered job results stay in %s for the next start", self.outbox.directory
                )
        except (Unreachable, ServerRefused) as exc:
            log.info("could not say goodbye to the server: %s", exc)
        finally:
            self.shipper.close(timeout=self.farewell.remaining())
            self.client.close()
        log.info("agent stopped")
