"""Shipping job log lines to the server in batches, from a background thread.

Lines are kept across network failures (up to a bound, then the oldest are dropped with a
warning) and sent in order. flush() lets the agent make sure a job's lines are in before it
reports the job's end, so the final message stays the job's last message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from robofleet.contract import LogLevel, normalize_level
from robofleet.robot.client import FIRST_DELAY, MAX_DELAY, RobotClient
from robofleet.robot.protocol import ServerRefused, Throttled, Unreachable

log = logging.getLogger(__name__)

MAX_BATCH = 1000
MAX_BATCH_BYTES = 4 * 1024 * 1024  # well under the server's 16 MiB body limit
MAX_MESSAGE = 100_000
_TRANSIENT = {401, 408, 429}


def line_level(value: object) -> LogLevel:
    """The level of a line the agent ships (robofleet.contract.normalize_level); an unknown
    level becomes Info rather than losing the line."""
    return normalize_level(value) or LogLevel.INFO


@dataclass(frozen=True)
class LogLine:
    level: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)
    """Unix seconds."""
    screenshot: str | None = None
    """An image, base64-encoded (the SDK checked its format and size)."""


class LogShipper:
    def __init__(
        self,
        client: RobotClient,
        *,
        flush_interval: float = 1.0,
        max_lines: int = 100_000,
    ) -> None:
        self._client = client
        self._interval = flush_interval
        self._max_lines = max_lines
        self._cond = threading.Condition()
        self._buffer: deque[tuple[int, dict[str, Any], int]] = deque()
        self._added = 0  # sequence number of the last line added
        self._done = 0  # every line up to this one was delivered or given up
        self._dropped = 0
        self._flushing = 0
        self._closing = False
        self._failing = False
        self._throttled = False
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(
        self,
        line: LogLine,
        *,
        job_guid: str | None = None,
        process_version_guid: str | None = None,
    ) -> None:
        wire: dict[str, Any] = {
            "Level": line_level(line.level),
            "Message": line.message[:MAX_MESSAGE],
            "Fields": line.fields,
            "Time": round(line.time, 6),
        }
        if line.screenshot:
            wire["Screenshot"] = line.screenshot
        if job_guid:
            wire["JobGUID"] = job_guid
        if process_version_guid:
            wire["ProcessVersionGUID"] = process_version_guid
        try:
            size = len(json.dumps(wire))
        except (TypeError, ValueError):
            wire["Fields"] = json.loads(json.dumps(line.fields, default=str))
            size = len(json.dumps(wire))
        with self._cond:
            self._added += 1
            self._buffer.append((self._added, wire, size))
            if len(self._buffer) > self._max_lines:
                seq, _, _ = self._buffer.popleft()
                self._done = max(self._done, seq)
                if self._dropped == 0:
                    log.warning("log buffer full (%d lines): dropping the oldest", self._max_lines)
                self._dropped += 1
            if len(self._buffer) == 1 or len(self._buffer) >= MAX_BATCH:
                self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._buffer)

    def flush(self, timeout: float | None = None, cancel: threading.Event | None = None) -> bool:
        """Block until every line added so far is delivered (or given up as refused).
        False if `timeout` passed or `cancel` was set first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._added
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._done < target:
                    if cancel is not None and cancel.is_set():
                        return False
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(0.1 if left is None else min(left, 0.1))
                return True
            finally:
                self._flushing -= 1

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is left for up to `timeout` seconds, then stop."""
        if self._thread.is_alive():
            self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        if self.pending:
            log.warning("%d log lines were not delivered", self.pending)

    def _run(self) -> None:
        delay = FIRST_DELAY
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            sent, told = self._send(batch)
            if sent:
                delay = FIRST_DELAY
                with self._cond:
                    last = batch[-1][0]
                    while self._buffer and self._buffer[0][0] <= last:
                        self._buffer.popleft()
                    self._done = max(self._done, last)
                    if not self._buffer and self._dropped:
                        log.warning(
                            "%d log lines were dropped while the buffer was full", self._dropped
                        )
                        self._dropped = 0
                    self._cond.notify_all()
            elif told is not None:
                # Rate-limited: the server stored none of the batch and said when to retry.
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, timeout=told)
            else:
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, timeout=delay)
                delay = min(delay * 2, MAX_DELAY)

    def _next_batch(self) -> list[tuple[int, dict[str, Any], int]] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._closing or bool(self._buffer))
            if self._closing:
                return None
            # Gather for a moment so lines travel together, unless someone waits for them.
            self._cond.wait_for(
                lambda: self._closing or self._flushing > 0 or len(self._buffer) >= MAX_BATCH,
                timeout=self._interval,
            )
            if self._closed():
                return None
            batch: list[tuple[int, dict[str, Any], int]] = []
            size = 0
            for entry in self._buffer:
                if batch and (len(batch) >= MAX_BATCH or size + entry[2] > MAX_BATCH_BYTES):
                    break
                batch.append(entry)
                size += entry[2]
            return batch

    def _closed(self) -> bool:
        # A method, not the attribute: other threads change it while we wait.
        return self._closing

    def _send(self, batch: list[tuple[int, dict[str, Any], int]]) -> tuple[bool, float | None]:
        """Whether the batch is done with (delivered, or refused for good); if not, the
        seconds the server asked us to wait (429 Retry-After), or None to back off."""
        try:
            self._client.send_logs([wire for _, wire, _ in batch], retry=0)
        except Throttled as exc:
            if not self._throttled:
                log.warning(
                    "the server limits this robot's log rate; lines are kept and sent "
                    "again in %.1f s",
                    exc.retry_after,
                )
                self._throttled = True
            return False, exc.retry_after
        except Unreachable as exc:
            if not self._failing:
                log.warning("log lines not delivered, will retry: %s", exc)
                self._failing = True
            return False, None
        except ServerRefused as exc:
            if exc.status_code in _TRANSIENT:
                log.warning("log lines not accepted yet: %s", exc)
                return False, None
            log.error("the server refused %d log lines, dropping them: %s", len(batch), exc)
            return True, None
        if self._failing or self._throttled:
            log.info("log lines are delivered again")
            self._failing = self._throttled = False
        return True, None
