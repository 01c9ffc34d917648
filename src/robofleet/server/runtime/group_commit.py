"""Group commit: writes that arrive together share one transaction.

Many agents ship log batches at once. Each batch in its own transaction pays a commit (a WAL
flush), a connection and a COPY start of its own; under load that, not the rows, is what costs.
Here the first caller to find a writer free becomes a leader: it takes every item queued so
far, writes them all in one transaction and wakes their callers. Items that arrive meanwhile
wait for the next leader. No thread of its own, so nothing to start or stop.

Each caller returns only after the transaction holding its item has committed, so an answer
still means "stored". If a group's write fails, its items are written again one by one, so
one bad item fails alone and the others are stored.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(slots=True)
class _Ticket(Generic[Item]):
    item: Item
    weight: int
    done: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[Item]):
    def __init__(self, max_weight: int, writers: int = 1) -> None:
        self.max_weight = max_weight
        """How much (rows, say) one group may hold; the first item always goes in."""
        self.writers = writers
        """Groups written at once: a second one streams while the first waits on its commit."""
        self._changed = threading.Condition()
        self._queue: deque[_Ticket[Item]] = deque()
        self._writing = 0

    def submit(self, item: Item, weight: int, write: Callable[[Sequence[Item]], None]) -> None:
        """Write `item` with whatever else is waiting; returns once committed, or raises
        what writing it alone raised."""
        ticket = _Ticket(item, weight)
        with self._changed:
            self._queue.append(ticket)
        while True:
            with self._changed:
                while not ticket.done and (self._writing >= self.writers or not self._queue):
                    self._changed.wait()
                if ticket.done:
                    break
                # A writer is free: lead the next group (ours, or one ahead of it).
                self._writing += 1
                group = self._take_group()
            finished = False
            try:
                _write_group(group, write)
                finished = True
            finally:
                with self._changed:
                    for each in group:
                        if not finished and each.error is None:
                            each.error = RuntimeError("the group's write was interrupted")
                        each.done = True
                    self._writing -= 1
                    self._changed.notify_all()
        if ticket.error is not None:
            raise ticket.error

    def _take_group(self) -> list[_Ticket[Item]]:
        group: list[_Ticket[Item]] = []
        weight = 0
        while self._queue and (not group or weight + self._queue[0].weight <= self.max_weight):
            ticket = self._queue.popleft()
            group.append(ticket)
            weight += ticket.weight
        return group


def _write_group(group: list[_Ticket[Item]], write: Callable[[Sequence[Item]], None]) -> None:
    try:
        write([ticket.item for ticket in group])
    except Exception as exc:
        if len(group) == 1:
            group[0].error = exc
            return
        for ticket in group:  # find which item failed; the others are stored
            try:
                write([ticket.item])
            except Exception as alone:
                ticket.error = alone
