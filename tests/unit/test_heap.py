"""A server sets what start-up built aside from the collector, and gives it back at stop."""

from __future__ import annotations

import gc

from robofleet.server.runtime import heap


def test_startup_heap_is_frozen_until_shutdown() -> None:
    before = gc.get_threshold()
    built = [object() for _ in range(10)]
    heap.settle_after_startup()
    try:
        assert gc.get_freeze_count() >= len(built)
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
    finally:
        heap.release_at_shutdown()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
