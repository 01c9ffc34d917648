"""Task arrivals: tasks were added to a queue that a trigger watches.

The tasks wing announces inside the adding transaction; the triggers wing subscribes and looks
at the queue's conditions at once, instead of polling. As with job wake-ups (runtime.wakeups),
PostgreSQL carries the announcement as a NOTIFY delivered to every node only if the tasks
commit; SQLite (one process) calls the subscribers after the commit.

Only queues in `watched` are announced: a NOTIFY serialises the commits that send one, and most
task adds concern no trigger. The trigger wing keeps `watched` current on every node.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from robofleet.server.db.dialect import Dialect
from robofleet.server.db.notify import announce_at_commit

log = logging.getLogger("robofleet.arrivals")

CHANNEL = "robofleet_tasks"


@dataclass
class TaskArrivals:
    dialect: Dialect
    watched: frozenset[int] = frozenset()
    """Queue ids some enabled trigger watches (replaced whole; read without a lock)."""
    _subscribers: list[Callable[[int], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """`callback(queue_id)` runs on the announcing (or listening) thread: keep it short.
        Returns the call that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def announce(self, session: Session, queue_id: int) -> None:
        """Tasks of `queue_id` are being committed in `session`."""
        if queue_id not in self.watched:
            return
        announce_at_commit(
            session,
            CHANNEL,
            str(queue_id),
            notifies=self.dialect.notifies,
            local=self.on_notify,
        )

    def on_notify(self, payload: str) -> None:
        """Called by the PostgreSQL listener thread."""
        try:
            queue_id = int(payload)
        except ValueError:
            log.warning("ignoring malformed task arrival %r", payload)
            return
        self.arrived(queue_id)

    def arrived(self, queue_id: int) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(queue_id)
            except Exception:
                log.exception("a task arrival subscriber failed")
