"""Waking robots that wait for work (long poll) the moment a job for them is committed.

In one process the wake-up is direct. With PostgreSQL the announcement is a NOTIFY sent inside
the job's transaction, so it is delivered to every server node only if the job commits; each
node's listener (db.notify) then wakes its own waiters.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from robofleet.server.db.dialect import Dialect
from robofleet.server.db.notify import announce_at_commit

log = logging.getLogger("robofleet.wakeups")

CHANNEL = "robofleet_jobs"
LOG_CHANNEL = "robofleet_logs"
"""Log lines were written for an account (payload `account:0`): live tails look again."""
ANY_ROBOT = 0


@dataclass
class Wakeups:
    dialect: Dialect
    channel: str = CHANNEL
    """The NOTIFY channel (the log tail has its own: runtime.log_wakeups)."""
    _loop: asyncio.AbstractEventLoop | None = None
    _waiters: dict[int, dict[int, set[asyncio.Future[None]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def register(self, account_id: int, robot_id: int) -> asyncio.Future[None]:
        """Call on the event loop before looking for work, so no announcement is missed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[account_id][robot_id].add(future)
        return future

    def unregister(self, account_id: int, robot_id: int, future: asyncio.Future[None]) -> None:
        robots = self._waiters.get(account_id)
        if robots is None:
            return
        robots[robot_id].discard(future)
        if not robots[robot_id]:
            del robots[robot_id]
        if not robots:
            del self._waiters[account_id]

    def announce(self, session: Session, account_id: int, robot_id: int | None) -> None:
        """A job for `robot_id` (None: any robot of the account) is being committed."""
        announce_at_commit(
            session,
            self.channel,
            f"{account_id}:{robot_id or ANY_ROBOT}",
            notifies=self.dialect.notifies,
            local=self.on_notify,
        )

    def on_notify(self, payload: str) -> None:
        """Called by the PostgreSQL listener thread."""
        try:
            account, robot = (int(part) for part in payload.split(":", 1))
        except ValueError:
            log.warning("ignoring malformed wake-up %r", payload)
            return
        self.wake(account, robot)

    def wake(self, account_id: int, robot_id: int) -> None:
        """Thread-safe: wake the waiters of one robot, or of every robot of the account."""
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._wake_on_loop, account_id, robot_id)

    def _wake_on_loop(self, account_id: int, robot_id: int) -> None:
        robots = self._waiters.get(account_id, {})
        targets = list(robots.values()) if robot_id == ANY_ROBOT else [robots.get(robot_id, set())]
        for futures in targets:
            for future in list(futures):
                if not future.done():
                    future.set_result(None)
