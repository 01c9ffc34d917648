"""Following log lines live: the events of a Server-Sent Events stream.

A tail looks for lines after the last one it sent whenever lines are written for its account
(runtime.log_wakeups: direct in one process, PostgreSQL NOTIFY across server processes) and
at least every keep-alive interval. Event ids are line ids, so a client that reconnects with
Last-Event-ID goes on where it stopped.

On PostgreSQL, concurrent transactions may commit out of id order: a line with a lower id can
become visible after a higher one was sent, and a tail moving past it would skip it. So a line
is sent only once it is SETTLE seconds old on the server's clock; by then a transaction
writing lower ids has committed, unless it ran longer than that. SQLite writes one
transaction at a time, in id order, and needs no wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy import ColumnElement, func, select

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import LogRow
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.values import INT64_MAX
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.logs import LogRead, LogTail
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.logs.reading import filter_conditions

PAGE: Final = 500
SETTLE_SECONDS: Final = 0.5
WAKE_ANY: Final = 0


def _start_id(last_event_id: str) -> int | None:
    if not last_event_id.strip():
        return None
    text = last_event_id.strip()
    if not text.isdigit() or int(text) > INT64_MAX:
        raise InvalidInput.for_field("Last-Event-ID", "must be the id of a log line event")
    return int(text)


def open_tail(runtime: Runtime, caller: Caller, query: LogTail, last_event_id: str) -> Tail:
    """Check the caller and the filters (404 for an unknown job), then a tail to stream."""
    caller.require(Screen.LOG, Action.READ)
    resumed = _start_id(last_event_id)
    with runtime.db.read() as session:
        conditions = filter_conditions(session, caller, query, query.job, "Job")
        start = resumed if resumed is not None else query.after_id
        if start is None:  # only lines written from now on
            start = session.scalar(select(func.max(LogRow.id))) or 0
    settle = SETTLE_SECONDS if runtime.db.dialect.notifies else 0.0
    return Tail(runtime, caller.account_id, conditions, start, query.timeout, settle)


@dataclass
class Tail:
    runtime: Runtime
    account_id: int
    conditions: list[ColumnElement[bool]]
    last_id: int
    timeout: float
    settle: float

    def _next_lines(self) -> tuple[list[LogRead], bool]:
        """The settled lines after the last one sent, and whether more wait (unsettled, or
        beyond this page)."""
        settled_before = utcnow() - timedelta(seconds=self.settle)
        with self.runtime.db.read() as session:
            rows = list(
                session.scalars(
                    select(LogRow)
                    .where(*self.conditions, LogRow.id > self.last_id)
                    .order_by(LogRow.id)
                    .limit(PAGE)
                )
            )
            ready: list[LogRead] = []
            for row in rows:
                if self.settle and row.updated_at > settled_before:
                    return ready, True
                ready.append(LogRead.model_validate(row))
        return ready, len(rows) == PAGE

    async def events(self) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        keepalive = self.runtime.settings.log_tail_keepalive_seconds
        wakeups = self.runtime.log_wakeups
        yield "retry: 1000\n\n"
        while True:
            woken = wakeups.register(self.account_id, WAKE_ANY) if wakeups else None
            try:
                lines, more = await asyncio.to_thread(self._next_lines)
                for line in lines:
                    self.last_id = line.id
                    yield f"id: {line.id}\nevent: log\ndata: {line.model_dump_json()}\n\n"
                left = deadline - loop.time()
                # At the deadline, lines still settling are waited for (once more at most).
                if left <= 0 and not (more and left > -self.settle * 2):
                    return
                if more:
                    wait = max(self.settle / 2, 0.05) if not lines else 0.0
                else:
                    wait = min(max(left, 0.0), keepalive)
                if wait and not await _woken(woken, wait) and not more:
                    yield ": keep-alive\n\n"
            finally:
                if wakeups and woken:
                    wakeups.unregister(self.account_id, WAKE_ANY, woken)


async def _woken(future: asyncio.Future[None] | None, seconds: float) -> bool:
    if future is None:
        await asyncio.sleep(seconds)
        return False
    try:
        await asyncio.wait_for(asyncio.shield(future), seconds)
    except TimeoutError:
        return False
    return True
