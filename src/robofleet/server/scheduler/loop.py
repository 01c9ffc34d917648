"""The scheduler thread: every interval, the leader runs each duty in its own transaction."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

from robofleet.server.db.base import utcnow
from robofleet.server.runtime import Runtime
from robofleet.server.scheduler.leader import hold_lease, release_lease
from robofleet.server.services.jobs import liveness
from robofleet.server.services.tasks import timers as task_timers

log = logging.getLogger("robofleet.scheduler")
LEASE = "scheduler"

Duty = Callable[[Runtime, datetime], int]


def default_duties() -> list[tuple[str, Duty]]:
    return [
        (
            "disconnect silent robots",
            lambda rt, now: liveness.disconnect_silent_robots(
                rt, now=now, timeout_seconds=rt.settings.robot_timeout_seconds
            ),
        ),
        (
            "fail lost jobs",
            lambda rt, now: liveness.fail_lost_jobs(
                rt, now=now, grace_seconds=rt.settings.unknown_job_grace_seconds
            ),
        ),
        ("enforce job deadlines", lambda rt, now: liveness.enforce_deadlines(rt, now=now)),
        (
            "promote overdue tasks",
            lambda rt, now: task_timers.promote_overdue_tasks(rt, now=now),
        ),
        ("release postponed tasks", lambda rt, now: task_timers.release_postponed(rt, now=now)),
        ("expire task leases", lambda rt, now: task_timers.expire_leases(rt, now=now)),
        ("abandon overdue tasks", lambda rt, now: task_timers.abandon_overdue(rt, now=now)),
    ]


class Scheduler:
    def __init__(self, runtime: Runtime, duties: list[tuple[str, Duty]] | None = None) -> None:
        self.runtime = runtime
        self.duties = duties if duties is not None else default_duties()
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            release_lease(self.runtime.db, name=LEASE, holder=self.holder)
        except Exception:  # the database may already be gone at shutdown
            log.debug("could not release the scheduler lease", exc_info=True)

    def tick(self) -> bool:
        """One pass; returns whether this node led it."""
        interval = self.runtime.settings.scheduler_interval_seconds
        now = utcnow()
        if not hold_lease(
            self.runtime.db,
            name=LEASE,
            holder=self.holder,
            now=now,
            ttl_seconds=max(5.0, interval * 5),
        ):
            return False
        for name, duty in self.duties:
            try:
                changed = duty(self.runtime, now)
            except Exception:
                log.exception("scheduler duty '%s' failed; it runs again next tick", name)
                continue
            if changed:
                log.info("%s: %d", name, changed)
        return True

    def _run(self) -> None:
        interval = self.runtime.settings.scheduler_interval_seconds
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
