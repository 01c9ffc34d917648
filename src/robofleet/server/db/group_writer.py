"""SQLite's one writer with group commit.

SQLite admits one writer at a time, and with `synchronous=full` every COMMIT syncs the WAL to
disk: that sync, not the rows, is what a small write costs. So writers take turns on ONE
connection, and the writes that arrive together share one transaction:

- a caller waits for its turn, then runs its write in its own SAVEPOINT on the shared
  connection (the first of a group opens it with BEGIN IMMEDIATE);
- a write that fails rolls back to its savepoint: only its own work is undone;
- when no other caller is waiting (or the group is full), the caller whose turn it is commits
  the group, runs every member's after-commit work (db.commit_hooks), and only then are the
  members answered. A member never returns before the COMMIT that holds its write, so an
  answer still means "stored", with the same `synchronous` setting as before;
- if the COMMIT (or a savepoint's rollback) fails, every member of the group fails.

A thread may also hold one turn across many callers' writes (held_turn: the front's SQLite
write lane), each in its own savepoint; they are answered after the group's COMMIT, as above.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, RootTransaction

log = logging.getLogger("robofleet.db")

MAX_GROUP = 64
"""Writes per transaction at most, so a steady stream of writers still commits often."""


class GroupFailed(Exception):
    """The shared transaction holding this caller's write did not commit."""


class TurnHeld(Exception):
    """A write that takes a turn of its own, asked for on a thread that holds one already
    (held_turn): it would wait for itself. It must run on a thread of its own."""


@dataclass
class HeldTurn:
    """One turn held across several callers' writes (GroupWriter.held_turn)."""

    connection: Connection
    after_commit: list[Callable[[], None]]
    """Where a write's after-commit work goes once the write is kept: the group's list, or
    (while raw_write.run_held runs a call) that call's own, kept only if the call succeeds."""


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Group:
    connection: Connection
    transaction: RootTransaction
    members: int = 0
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    commit_latch: threading.Lock = field(default_factory=_held_lock)
    """Held until the group has committed (or failed), then released for good: each member
    passes it once. A bare lock, not an Event (a Condition and two locks more per write)."""
    error: BaseException | None = None

    def wait_committed(self) -> None:
        with self.commit_latch:
            pass

    def mark_committed(self) -> None:
        self.commit_latch.release()

    def raise_if_failed(self) -> None:
        """GroupFailed if the group's COMMIT failed (none of its writes was stored)."""
        if self.error is not None:
            raise GroupFailed("the write was not stored: its transaction failed") from self.error


@dataclass(frozen=True)
class TakenTurn:
    """A turn taken without waiting (GroupWriter.take_turn_if_free), ended on any thread."""

    group: _Group


class GroupWriter:
    """Hands out turns on the shared write connection of `engine` (a write engine: its
    transactions open with BEGIN IMMEDIATE)."""

    def __init__(self, engine: Engine, max_group: int = MAX_GROUP) -> None:
        self._engine = engine
        self._max_group = max_group
        self._turn = threading.Lock()
        self._state = threading.Lock()
        self._waiting = 0
        self._group: _Group | None = None
        # The write connection stays checked out between groups: a pool checkout, its
        # reset on return and the close cost more Python than a small group's statements.
        self._connection: Connection | None = None
        self._holder = threading.local()

    def held(self) -> HeldTurn | None:
        """The turn this thread holds (held_turn), if any."""
        held: HeldTurn | None = getattr(self._holder, "turn", None)
        return held

    @contextmanager
    def held_turn(self) -> Iterator[HeldTurn]:
        """One turn for several callers' writes run one after the other on this thread
        (db.raw_write joins it, each write in its own savepoint): the group commits, and
        this returns, after the last. A turn of its own asked for meanwhile raises TurnHeld."""
        with self.turn() as (connection, after_commit):
            yield from self._holding(connection, after_commit)

    def take_turn_if_free(self) -> TakenTurn | None:
        """For a caller that must never wait on another thread (the event loop): the turn,
        with a group of its own, or None at once if another thread has the turn or has left
        its group open for a writer about to take it. The caller runs its writes in
        `holding(taken)`, then hands the turn to end_taken_turn, on any thread: its group
        commits then, whoever waits to join it."""
        self._refuse_nested()
        if not self._turn.acquire(blocking=False):
            return None
        if self._group is not None:
            self._turn.release()
            return None
        try:
            group = self._open()
        except BaseException:
            self._turn.release()
            raise
        group.members += 1
        return TakenTurn(group)

    @contextmanager
    def holding(self, taken: TakenTurn) -> Iterator[HeldTurn]:
        """This thread holds `taken` (db.raw_write joins it) until the block ends."""
        yield from self._holding(taken.group.connection, taken.group.after_commit)

    def end_taken_turn(self, taken: TakenTurn) -> None:
        """Commit the group of a turn from take_turn_if_free, hand the turn on and run the
        group's after-commit work; raises GroupFailed if the COMMIT failed."""
        self._end_turn(taken.group, commit_now=True)
        taken.group.raise_if_failed()

    def _refuse_nested(self) -> None:
        if self.held() is not None:
            raise TurnHeld("this thread holds the writer's turn already")

    def _holding(
        self, connection: Connection, after_commit: list[Callable[[], None]]
    ) -> Iterator[HeldTurn]:
        held = HeldTurn(connection, after_commit)
        self._holder.turn = held
        try:
            yield held
        finally:
            self._holder.turn = None

    @contextmanager
    def turn(self) -> Iterator[tuple[Connection, list[Callable[[], None]]]]:
        """The shared connection, inside the group's transaction, for one caller's write,
        and the list its after-commit work goes to. The caller wraps its write in a
        savepoint; this returns once the group has committed, or raises GroupFailed."""
        self._refuse_nested()
        with self._state:
            self._waiting += 1
        self._turn.acquire()
        group: _Group | None = None
        hooks: list[Callable[[], None]] = []
        succeeded = False
        try:
            with self._state:
                self._waiting -= 1
            group = self._group or self._open()
            group.members += 1
            yield group.connection, hooks
            succeeded = True
        finally:
            if group is not None:
                if succeeded:
                    group.after_commit.extend(hooks)
                self._end_turn(group)
            else:
                self._turn.release()
        group.wait_committed()
        group.raise_if_failed()

    def _open(self) -> _Group:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connection = self._engine.connect()
        try:
            transaction = connection.begin()
        except BaseException:
            self._drop(connection)
            raise
        self._group = _Group(connection, transaction)
        return self._group

    def _drop(self, connection: Connection) -> None:
        """Close a connection a failure left in doubt; the next group opens a fresh one."""
        if self._connection is connection:
            self._connection = None
        _quietly(connection.close)

    def close(self) -> None:
        """Give the kept connection back (when the database is disposed)."""
        with self._turn:
            if self._connection is not None:
                self._drop(self._connection)

    def _end_turn(self, group: _Group, *, commit_now: bool = False) -> None:
        """Called holding the turn: commit the group if nobody waits to join it (or it is
        full, or broken, or `commit_now`), hand the turn on, then run the group's
        after-commit work (which may itself write: it must not hold the turn)."""
        commit = False
        try:
            with self._state:
                commit = (
                    commit_now
                    or self._waiting == 0
                    or group.members >= self._max_group
                    or not group.transaction.is_active
                )
                if commit:
                    self._group = None
            if commit:
                self._commit(group)
        finally:
            self._turn.release()
        if commit:
            self._answer(group)

    def _commit(self, group: _Group) -> None:
        try:
            if not group.transaction.is_active:
                raise GroupFailed("a write in the group broke the shared transaction")
            group.transaction.commit()
        except BaseException as exc:
            group.error = exc
            _quietly(group.transaction.rollback)
            self._drop(group.connection)

    def _answer(self, group: _Group) -> None:
        if group.error is None:
            for callback in group.after_commit:
                try:
                    callback()
                except Exception:
                    log.exception("after-commit work failed (the write is stored)")
        group.mark_committed()


def _quietly(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:
        log.exception("cleaning up a write group failed")
