"""Work that must wait for the real COMMIT of a session's changes (waking waiters, announcing
task arrivals, dropping caches).

A session usually commits its own transaction, and then SQLAlchemy's `after_commit` event is
the moment. Under SQLite's group commit (db.group_writer) a session's "commit" only releases
its SAVEPOINT inside a transaction shared with other callers: a waiter woken then would read
before the data is committed and miss it. There the session carries a list in
`session.info[AFTER_COMMIT]`, and the group runs the callbacks after its COMMIT.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

AFTER_COMMIT = "robofleet_after_commit"


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's changes are committed; never if they roll back."""
    deferred: list[Callable[[], None]] | None = session.info.get(AFTER_COMMIT)
    if deferred is not None:
        deferred.append(callback)
        return
    event.listen(session, "after_commit", lambda _session: callback(), once=True)
