"""The calls behind one `take_each` loop: leases renewed together, finishes sent together.

A `Leases` keeps the lease of every task the loop holds (taken and not handed out yet,
handed out, or finished with the finish not yet answered) renewed with one call per round,
from one thread. With batching on, the finishes wait in the outbox and go in one call (the
server's `Items` form, each judged on its own): when the loop asks (before its next take and
at its end), or from a background thread once the oldest has waited FLUSH_SECONDS. The
server's refusals are kept until the loop calls `raise_refused` (its next step).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from robofleet.contract import Api, LogLevel, TaskStatus
from robofleet.sdk.http import RobofleetError, call
from robofleet.sdk.job import log

FLUSH_SECONDS = 1.0
"""The longest a finish waits in the outbox while the loop body runs."""

MAX_ITEMS = 1000
"""The server's limit of items per finish or renew call."""

_GIVE_UP = (RobofleetError, OSError)
"""What one call may fail with (OSError covers the network's errors)."""


@dataclass(frozen=True)
class Refusal:
    guid: str
    code: str
    message: str


class FinishRefused(RobofleetError):
    """Finishes sent together were refused by the server (each is judged on its own; the
    others were recorded). `refusals` says which tasks and why, e.g. `lease_lost` when the
    lease expired first: such a task's outcome is the server's, not the loop's."""

    def __init__(self, refusals: list[Refusal]) -> None:
        listed = "; ".join(f"{r.guid}: {r.code}: {r.message}" for r in refusals[:10])
        more = f" (and {len(refusals) - 10} more)" if len(refusals) > 10 else ""
        super().__init__(
            409, "finish_refused", f"{len(refusals)} finish(es) refused: {listed}{more}"
        )
        self.refusals = refusals


class Held(Protocol):
    @property
    def guid(self) -> str: ...

    @property
    def lease_id(self) -> str: ...


H = TypeVar("H", bound=Held)


class Loop(Generic[H]):
    """The state one `take_each` loop shares with its renew and flush threads."""

    def __init__(self, lease_seconds: int, *, batching: bool) -> None:
        self.batching = batching
        self.waiting: deque[H] = deque()
        """Taken, not handed out yet (only the loop's own thread touches it)."""
        self._lease_seconds = lease_seconds
        self._cond = threading.Condition()
        self._leased: dict[str, str] = {}  # GUID -> lease id, renewed until finish answered
        self._outbox: list[dict[str, Any]] = []
        self._oldest = 0.0  # monotonic time the oldest unsent finish was put
        self._refused: list[Refusal] = []
        self._ended = False
        self._sending = threading.Lock()  # one finish call at a time: in order, never twice
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._renew_all, name="renew", daemon=True)]
        if batching:
            self._threads.append(
                threading.Thread(target=self._flush_in_time, name="finish-flush", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        _open.add(self)

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._ended

    def hold(self, tasks: list[H]) -> None:
        with self._cond:
            self._leased.update((task.guid, task.lease_id) for task in tasks)
        self.waiting.extend(tasks)

    def release_waiting(self) -> None:
        """Give back the tasks never handed out: Postponed until now, which the server's
        timer turns New again within about a second. Not a failure, no retry used up."""
        now = datetime.now(UTC).isoformat()
        while self.waiting:
            task = self.waiting.popleft()
            body = {
                "Guid": task.guid,
                "LeaseId": task.lease_id,
                "Status": int(TaskStatus.POSTPONED),
                "PostponedUntil": now,
            }
            with contextlib.suppress(*_GIVE_UP):
                self.finish(body)

    def finish(self, body: dict[str, Any]) -> None:
        """Send this finish, or put it in the outbox when batching (the loop still runs)."""
        guid = str(body["Guid"])
        with self._cond:
            if self.batching and not self._ended:
                if not self._outbox:
                    self._oldest = time.monotonic()
                    self._cond.notify_all()
                self._outbox.append(body)
                return
        try:
            call("POST", Api.TASK_FINISH, body)
        finally:
            with self._cond:
                self._leased.pop(guid, None)

    def flush(self) -> None:
        """Send the outbox in one call (one per MAX_ITEMS). Refusals are kept for
        `raise_refused`; a call that fails (network, 5xx after the retries, 4xx of the whole
        call) puts its finishes back for the next flush and raises. Sending a finish again is
        safe: the server answers a repeated finish (same lease, same outcome) as the first."""
        with self._sending:
            with self._cond:
                sending, self._outbox = self._outbox, []
            while sending:
                chunk = sending[:MAX_ITEMS]
                try:
                    answer = call("POST", Api.TASK_FINISH, {"Items": chunk})
                except BaseException:
                    with self._cond:
                        self._outbox[:0] = sending
                        self._oldest = time.monotonic()
                    raise
                sending = sending[MAX_ITEMS:]
                refused = [
                    Refusal(str(r.get("guid", "")), str(r.get("code", "")), str(r.get("message")))
                    for r in answer["results"]
                    if not r.get("ok")
                ]
                with self._cond:
                    for body in chunk:
                        self._leased.pop(str(body["Guid"]), None)
                    self._refused.extend(refused)

    def raise_refused(self) -> None:
        with self._cond:
            refused, self._refused = self._refused, []
        if refused:
            raise FinishRefused(refused)

    def close(self) -> None:
        """The loop ended normally: send what is left; raise a failed call or refusals."""
        self.release_waiting()
        self._end()
        try:
            self.flush()
        finally:
            self._forget_if_sent()
        self.raise_refused()

    def abandon(self) -> None:
        """The loop ended with an exception (or was closed early): send what is left, raising
        nothing over the exception already on its way; what cannot be said is logged."""
        self.release_waiting()
        self._end()
        try:
            self.flush()
        except _GIVE_UP as exc:
            log(LogLevel.ERROR, f"task finishes not sent, their leases will expire: {exc}")
        finally:
            self._forget_if_sent()
        with self._cond:
            refused, self._refused = self._refused, []
        if refused:
            log(LogLevel.ERROR, str(FinishRefused(refused)))

    def _end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def _forget_if_sent(self) -> None:
        """An ended loop with nothing left to send needs no flush at exit."""
        with self._cond:
            if not self._outbox:
                _open.discard(self)

    def _renew_all(self) -> None:
        period = max(self._lease_seconds / 3, 1)
        while not self._stop.wait(period):
            with self._cond:
                items = [
                    {"Guid": guid, "LeaseId": lease, "LeaseSeconds": self._lease_seconds}
                    for guid, lease in self._leased.items()
                ]
            for start in range(0, len(items), MAX_ITEMS):
                try:
                    chunk = items[start : start + MAX_ITEMS]
                    answer = call("POST", Api.TASK_RENEW, {"Items": chunk})
                except _GIVE_UP:
                    break  # the next round tries again; an expired lease shows at the finish
                lost = {str(r.get("guid")) for r in answer["results"] if not r.get("ok")}
                with self._cond:
                    for guid in lost:
                        self._leased.pop(guid, None)

    def _flush_in_time(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._ended or bool(self._outbox))
                due = self._oldest + FLUSH_SECONDS
                self._cond.wait_for(lambda: self._ended, timeout=max(due - time.monotonic(), 0))
                if self._ended:
                    return
            try:
                self.flush()
            except _GIVE_UP:
                # Kept for the next flush; the loop's own flush raises if it still fails.
                self._stop.wait(FLUSH_SECONDS)


_open: set[Loop[Any]] = set()
"""Loops whose finishes may still wait to be sent: flushed at exit."""


@atexit.register
def _flush_at_exit() -> None:
    for loop in list(_open):
        with contextlib.suppress(*_GIVE_UP):
            loop.abandon()
