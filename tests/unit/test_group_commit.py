"""Group commit: concurrent writes share transactions, and each caller returns only once its
own item is written, or with its own item's error."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from robofleet.server.runtime.group_commit import GroupCommit


class Store:
    """Stands in for a database transaction: records each group it is given."""

    def __init__(self, *, slow: threading.Event | None = None, bad: set[int] | None = None):
        self.groups: list[list[int]] = []
        self.written: set[int] = set()
        self.slow = slow
        self.bad = bad or set()
        self.lock = threading.Lock()

    def write(self, items: Sequence[int]) -> None:
        if self.slow is not None:
            self.slow.wait(5)
        if self.bad & set(items):
            raise ValueError(f"item {sorted(self.bad & set(items))[0]} is bad")
        with self.lock:
            self.groups.append(list(items))
            self.written.update(items)


def submit_all(
    commits: GroupCommit[int], store: Store, items: range, weight: int = 1
) -> dict[int, BaseException | None]:
    outcome: dict[int, BaseException | None] = {}

    def one(item: int) -> None:
        try:
            commits.submit(item, weight, store.write)
        except Exception as exc:
            outcome[item] = exc
            return
        # Returning means stored: the item must already be in a written group.
        outcome[item] = None if item in store.written else AssertionError("returned early")

    threads = [threading.Thread(target=one, args=(i,)) for i in items]
    for thread in threads:
        thread.start()
    return _joined(threads, outcome)


def wait_until(condition: Callable[[], object]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _joined(
    threads: list[threading.Thread], outcome: dict[int, BaseException | None]
) -> dict[int, BaseException | None]:
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    return outcome


def test_writes_arriving_during_a_write_share_the_next_transaction() -> None:
    gate = threading.Event()
    store = Store(slow=gate)
    commits: GroupCommit[int] = GroupCommit(max_weight=1000)
    first = threading.Thread(target=commits.submit, args=(0, 1, store.write))
    first.start()
    wait_until(lambda: commits._writing)  # the first write is under way, and held
    rest = threading.Thread(target=lambda: submit_all(commits, store, range(1, 50)))
    rest.start()
    wait_until(lambda: len(commits._queue) == 49)
    gate.set()
    first.join(10)
    rest.join(10)
    assert store.groups[0] == [0]
    assert sorted(store.groups[1]) == list(range(1, 50))
    assert len(store.groups) == 2


def test_every_caller_returns_only_after_its_item_is_written() -> None:
    store = Store()
    commits: GroupCommit[int] = GroupCommit(max_weight=7)
    outcome = submit_all(commits, store, range(200))
    assert outcome == dict.fromkeys(range(200))
    assert store.written == set(range(200))
    assert all(len(group) <= 7 for group in store.groups)


def test_a_group_never_weighs_more_than_the_limit_but_a_heavy_item_goes_alone() -> None:
    store = Store()
    commits: GroupCommit[int] = GroupCommit(max_weight=10)
    commits.submit(1, 25, store.write)
    assert store.groups == [[1]]
    outcome = submit_all(commits, store, range(2, 40), weight=3)
    assert set(outcome.values()) == {None}
    assert all(len(group) <= 3 for group in store.groups[1:])


def test_a_bad_item_fails_alone_and_the_rest_of_its_group_is_stored() -> None:
    gate = threading.Event()
    store = Store(slow=gate, bad={13})
    commits: GroupCommit[int] = GroupCommit(max_weight=1000)
    first = threading.Thread(target=commits.submit, args=(0, 1, store.write))
    first.start()
    wait_until(lambda: commits._writing)
    outcome: dict[int, BaseException | None] = {}
    waiting = threading.Thread(
        target=lambda: outcome.update(submit_all(commits, store, range(1, 30)))
    )
    waiting.start()
    wait_until(lambda: len(commits._queue) == 29)
    gate.set()
    first.join(10)
    waiting.join(10)
    assert isinstance(outcome.pop(13), ValueError)
    assert set(outcome.values()) == {None}
    assert store.written == set(range(30)) - {13}


def test_the_leader_raises_its_own_error() -> None:
    store = Store(bad={5})
    commits: GroupCommit[int] = GroupCommit(max_weight=10)
    with pytest.raises(ValueError, match="item 5 is bad"):
        commits.submit(5, 1, store.write)
    commits.submit(6, 1, store.write)  # the next write goes on
    assert store.written == {6}


def test_with_two_writers_a_second_group_is_written_while_the_first_is_held() -> None:
    gate = threading.Event()
    store = Store(slow=gate)
    commits: GroupCommit[int] = GroupCommit(max_weight=1000, writers=2)
    threads = [threading.Thread(target=commits.submit, args=(i, 1, store.write)) for i in (0, 1)]
    threads[0].start()
    wait_until(lambda: commits._writing == 1)
    threads[1].start()
    wait_until(lambda: commits._writing == 2)  # not queued behind the first
    third = threading.Thread(target=commits.submit, args=(2, 1, store.write))
    third.start()
    wait_until(lambda: len(commits._queue) == 1)  # both writers busy: it waits
    gate.set()
    for thread in (*threads, third):
        thread.join(10)
    assert sorted(map(sorted, store.groups)) == [[0], [1], [2]]
