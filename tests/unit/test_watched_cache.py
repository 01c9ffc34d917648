"""The read-through caches' rules: when an entry ages out, and which writes empty a cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from robofleet.server.db.tables import AccessFolderRow, UserRoleRow, UserRow
from robofleet.server.db.tables.robots import RobotRow
from robofleet.server.runtime import caches
from robofleet.server.runtime.caches import IDENTITY_ROWS, NEW_IDENTITIES_HARMLESS, WatchedCache
from robofleet.server.runtime_setup import build_runtime
from robofleet.server.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(caches.time, "monotonic", fake)
    return fake


def _fresh(cache: WatchedCache[int], keys: range) -> int:
    return sum(cache.get(key) is not None for key in keys)


def test_entries_stored_together_age_out_spread_over_the_second_half_of_the_ttl(
    clock: Clock,
) -> None:
    cache: WatchedCache[int] = WatchedCache("principals", IDENTITY_ROWS, ttl_seconds=30.0)
    keys = range(400)
    for key in keys:
        cache.put(key, key, generation=cache.generation)

    clock.now += 14.9
    assert _fresh(cache, keys) == 400  # none before half the TTL
    clock.now += 7.6  # three quarters
    assert 100 < _fresh(cache, keys) < 300  # some, not all: spread, not one herd
    clock.now += 7.6
    assert _fresh(cache, keys) == 0  # all after the whole TTL


def test_a_change_during_a_lookup_wins_over_its_result() -> None:
    cache: WatchedCache[str] = WatchedCache("queues", ())
    generation = cache.generation
    cache.invalidate()
    cache.put("q", "stale", generation=generation)
    assert cache.get("q") is None


def test_new_robots_users_and_keys_leave_cached_credentials_alone() -> None:
    principals: WatchedCache[object] = WatchedCache(
        "principals", IDENTITY_ROWS, new_rows_harmless=NEW_IDENTITIES_HARMLESS
    )
    assert not principals.touched_by({RobotRow, UserRow}, set())
    # Changing or deleting one may change who its credential is; so may a new role or folder.
    assert principals.touched_by(set(), {RobotRow})
    assert principals.touched_by({UserRoleRow}, set())
    assert principals.touched_by({AccessFolderRow}, set())
    # A cache without harmless kinds is touched by any new row it watches, and by no other.
    queues: WatchedCache[object] = WatchedCache("queues", (AccessFolderRow,))
    assert queues.touched_by({AccessFolderRow}, set())
    assert not queues.touched_by({RobotRow}, {UserRow})


def test_the_servers_credential_cache_keeps_an_entry_150_to_300_seconds(
    clock: Clock, tmp_path: Path
) -> None:
    """Changes empty it at once: its age limit is a backstop, long enough that a fleet's
    robots are not looked up again every few seconds (8 % of requests at 30 s)."""
    runtime = build_runtime(Settings(data_dir=tmp_path, database_url=None))
    principals: WatchedCache[object] = runtime.principals
    keys = range(400)
    for key in keys:
        principals.put(key, key, generation=principals.generation)
    clock.now += 149.9
    assert _fresh(principals, keys) == 400
    clock.now += 150.2
    assert _fresh(principals, keys) == 0
