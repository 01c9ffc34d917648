"""The scheduler thread: every interval, the leader runs each duty once per owner (account or
queue) with work due, each run in its own transaction.

One owner's bad row (say a queue whose abandon limit overflows a date) fails that owner's run
alone: the others still run, and the failure is logged once with its owner and duty, not on
every tick, until it changes or the owner recovers."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from robofleet.server.db.base import utcnow
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.metrics.families import DUTY_CHANGES, DUTY_FAILURES, DUTY_SECONDS
from robofleet.server.scheduler.leader import hold_lease, release_lease
from robofleet.server.scheduler.mail_checks import MailChecks
from robofleet.server.scheduler.triggers import TriggerClock
from robofleet.server.services.jobs import liveness
from robofleet.server.services.logs import retention as log_retention
from robofleet.server.services.scheduled import Owner
from robofleet.server.services.tasks import timers as task_timers

log = logging.getLogger("robofleet.scheduler")
LEASE = "scheduler"
LEADERSHIP_DUTY = "hold leadership"
"""The duty label of a tick that failed as a whole (the lease could not be read or renewed)."""
LEAD_MARGIN_SECONDS = 1.0
"""The leader stops acting this long before its lease would run out unrenewed."""


@dataclass(frozen=True)
class Duty:
    name: str
    owners: Callable[[Runtime, datetime], Sequence[Owner]]
    """The owners with work due now (one read)."""
    run: Callable[[Runtime, datetime, Owner], int]
    """The work of one owner (one write); how many rows it changed."""


def default_duties() -> list[Duty]:
    return [
        Duty(
            "disconnect silent robots",
            lambda rt, now: liveness.accounts_with_silent_robots(
                rt, now=now, timeout_seconds=rt.settings.robot_timeout_seconds
            ),
            lambda rt, now, owner: liveness.disconnect_silent_robots(
                rt,
                now=now,
                timeout_seconds=rt.settings.robot_timeout_seconds,
                account_id=owner.id,
            ),
        ),
        Duty(
            "fail lost jobs",
            lambda rt, now: liveness.accounts_with_lost_jobs(
                rt, now=now, grace_seconds=rt.settings.unknown_job_grace_seconds
            ),
            lambda rt, now, owner: liveness.fail_lost_jobs(
                rt,
                now=now,
                grace_seconds=rt.settings.unknown_job_grace_seconds,
                account_id=owner.id,
            ),
        ),
        Duty(
            "enforce job deadlines",
            lambda rt, now: liveness.accounts_with_deadlines_due(rt, now=now),
            lambda rt, now, owner: liveness.enforce_deadlines(rt, now=now, account_id=owner.id),
        ),
        Duty(
            "promote overdue tasks",
            lambda rt, now: task_timers.accounts_with_overdue_tasks(rt, now=now),
            lambda rt, now, owner: task_timers.promote_overdue_tasks(
                rt, now=now, account_id=owner.id
            ),
        ),
        Duty(
            "release postponed tasks",
            lambda rt, now: task_timers.accounts_with_postponed_due(rt, now=now),
            lambda rt, now, owner: task_timers.release_postponed(rt, now=now, account_id=owner.id),
        ),
        Duty(
            "expire task leases",
            lambda rt, now: task_timers.accounts_with_expired_leases(rt, now=now),
            lambda rt, now, owner: task_timers.expire_leases(rt, now=now, account_id=owner.id),
        ),
        Duty(
            "abandon overdue tasks",
            lambda rt, now: task_timers.queues_with_abandon_limits(rt),
            lambda rt, now, owner: task_timers.abandon_overdue(rt, now=now, queue_id=owner.id),
        ),
        Duty(
            "delete old log lines",
            log_retention.accounts_with_old_logs,
            lambda rt, now, owner: log_retention.delete_old_logs(rt, now, owner.id),
        ),
        Duty(
            "delete old audit entries",
            log_retention.accounts_with_old_audit,
            lambda rt, now, owner: log_retention.delete_old_audit(rt, now, owner.id),
        ),
    ]


class FailureLog:
    """Logs a failure of one duty for one owner once, not on every tick: again only when the
    failure changes, and once more (at info) when the owner's runs succeed again."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int | None], str] = {}

    def failed(self, duty: str, owner: Owner | None, error: Exception) -> None:
        DUTY_FAILURES.labels(duty).inc()  # every failure counts, logged or not
        key = (duty, owner.id if owner else None)
        # The first line names the failure; database errors go on with the statement and its
        # parameters (times of this tick), which would make every tick's failure look new.
        what = f"{type(error).__name__}: {str(error).partition(chr(10))[0]}"
        who = owner.label if owner else "every owner (listing the work due failed)"
        if self._known.get(key) == what:
            log.debug("scheduler duty '%s' still fails for %s: %s", duty, who, what)
            return
        self._known[key] = what
        log.error(
            "scheduler duty '%s' failed for %s; the others go on, and it is retried every "
            "tick (logged again only if the failure changes)",
            duty,
            who,
            exc_info=error,
        )

    def succeeded(self, duty: str, owner: Owner | None) -> None:
        key = (duty, owner.id if owner else None)
        if self._known.pop(key, None) is not None:
            who = owner.label if owner else "every owner"
            log.info("scheduler duty '%s' works again for %s", duty, who)

    def forget_all_but(self, duty: str, owners: Sequence[Owner]) -> None:
        """Owners no longer due (deleted, fixed by hand) leave the memory with their rows."""
        keep = {owner.id for owner in owners} | {None}
        for key in [k for k in self._known if k[0] == duty and k[1] not in keep]:
            del self._known[key]


class Scheduler:
    def __init__(self, runtime: Runtime, duties: list[Duty] | None = None) -> None:
        self.runtime = runtime
        self.duties = duties if duties is not None else default_duties()
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.failures = FailureLog()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._leading_until: datetime | None = None
        self.triggers = TriggerClock(runtime, self.leads, self.failures)
        # Mailbox checks wait on the network: a thread of their own (scheduler.mail_checks).
        self.mail_checks = MailChecks(runtime, self.leads)

    def leads(self, now: datetime) -> bool:
        """Whether this node holds the lease at `now` (with a margin before it runs out, so
        two nodes never both believe they lead; fire keys make an overlap harmless anyway)."""
        until = self._leading_until
        return until is not None and now < until

    def start(self) -> None:
        self._thread.start()
        self.triggers.start()
        self.mail_checks.start()

    def stop(self) -> None:
        self.mail_checks.stop()
        self._stop.set()
        self._thread.join(timeout=10)
        self.triggers.stop()
        try:
            release_lease(self.runtime.db, name=LEASE, holder=self.holder)
        except Exception:  # the database may already be gone at shutdown
            log.debug("could not release the scheduler lease", exc_info=True)

    def tick(self) -> bool:
        """One pass; returns whether this node led it."""
        interval = self.runtime.settings.scheduler_interval_seconds
        now = utcnow()
        ttl = max(5.0, interval * 5)
        if not hold_lease(
            self.runtime.db, name=LEASE, holder=self.holder, now=now, ttl_seconds=ttl
        ):
            self._leading_until = None
            return False
        self._leading_until = now + timedelta(seconds=ttl - LEAD_MARGIN_SECONDS)
        for duty in self.duties:
            self._run_duty(duty, now)
        return True

    def _run_duty(self, duty: Duty, now: datetime) -> None:
        started = time.perf_counter()
        try:
            self._run_owners(duty, now)
        finally:
            DUTY_SECONDS.labels(duty.name).observe(time.perf_counter() - started)

    def _run_owners(self, duty: Duty, now: datetime) -> None:
        try:
            owners = duty.owners(self.runtime, now)
        except Exception as exc:
            self.failures.failed(duty.name, None, exc)
            return
        self.failures.succeeded(duty.name, None)
        changed = 0
        for owner in owners:
            try:
                changed += duty.run(self.runtime, now, owner)
            except Exception as exc:
                self.failures.failed(duty.name, owner, exc)
            else:
                self.failures.succeeded(duty.name, owner)
        self.failures.forget_all_but(duty.name, owners)
        if changed:
            DUTY_CHANGES.labels(duty.name).inc(changed)
            log.info("%s: %d", duty.name, changed)

    def _run(self) -> None:
        interval = self.runtime.settings.scheduler_interval_seconds
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:
                DUTY_FAILURES.labels(LEADERSHIP_DUTY).inc()
                log.exception("scheduler tick failed")
