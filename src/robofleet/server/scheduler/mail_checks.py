"""Mailbox checks of e-mail triggers, on a thread of their own.

A check talks to a mail server and may wait up to settings.mail_check_timeout_seconds per
step; the scheduler's own thread (schedule fires, task timers) must never wait on that. So the
checks run here: a thread that, while this node leads (the scheduler's lease), lists the due
checks every scheduler interval and hands each to a small pool (settings.mail_check_workers);
a trigger whose check is still running is not handed out again. Exactly-once does not rest on
leadership: two nodes checking one mailbox at once would still make one job per mail (fire
keys and trigger_mails are unique); leading only saves the double reading.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import partial

from robofleet.server.db.base import utcnow
from robofleet.server.runtime import Runtime
from robofleet.server.services.triggers import mail

log = logging.getLogger("robofleet.scheduler.mail")


class MailChecks:
    def __init__(self, runtime: Runtime, leads: Callable[[datetime], bool]) -> None:
        self.runtime = runtime
        self.leads = leads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-checks", daemon=True)
        self._pool = ThreadPoolExecutor(
            max_workers=runtime.settings.mail_check_workers, thread_name_prefix="mail-check"
        )
        self._running: dict[int, Future[mail.MailCheck]] = {}
        self._errors: dict[int, str] = {}
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        # Checks under way finish on their own (each step has its timeout); none starts now.
        self._pool.shutdown(wait=False, cancel_futures=True)

    def tick(self, now: datetime | None = None) -> int:
        """Hand out the checks due now; how many were started (0 when not leading)."""
        now = now or utcnow()
        if not self.leads(now):
            return 0
        started = 0
        for trigger_id in mail.triggers_to_check(self.runtime, now):
            with self._lock:
                if trigger_id in self._running:
                    continue
                future = self._pool.submit(mail.check_trigger, self.runtime, trigger_id, now)
                self._running[trigger_id] = future
            future.add_done_callback(partial(self._finished, trigger_id))
            started += 1
        return started

    def drain(self, timeout: float) -> None:
        """Wait for the checks under way and their logging (tests; shutdown does not wait)."""
        with self._settled:
            self._settled.wait_for(lambda: not self._running, timeout=timeout)

    def _finished(self, trigger_id: int, future: Future[mail.MailCheck]) -> None:
        try:
            self._report(trigger_id, future)
        finally:
            # Only now is the check settled: a future's waiters wake before its callbacks run.
            with self._settled:
                self._running.pop(trigger_id, None)
                self._settled.notify_all()

    def _report(self, trigger_id: int, future: Future[mail.MailCheck]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            if self._errors.pop(trigger_id, None) is not None:
                log.info("mail check of trigger %d works again", trigger_id)
            return
        # Logged once per trigger until the failure changes, not on every interval.
        what = f"{type(error).__name__}: {error}"
        if self._errors.get(trigger_id) != what:
            self._errors[trigger_id] = what
            log.error("mail check of trigger %d failed: %s", trigger_id, what, exc_info=error)

    def _run(self) -> None:
        interval = self.runtime.settings.scheduler_interval_seconds
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:
                log.exception("mail check round failed")
