"""The cyclic garbage collector of a server process.

A full collection walks every tracked object while holding the GIL. Measured under a
750 to 1,000-robot fleet (docs/benchmarks.md, "Collector pauses"), Python's default thresholds
ran one every 5 to 10 s and each stopped the whole server for 130 to 290 ms: most of the fleet's
p99. What start-up built (modules, the app and its routes, table metadata) never becomes
garbage, so it is set aside from the collector; and young collections run after 20,000
allocations rather than 700, so the requests' short-lived objects (freed by reference
counting) rarely promote anything into the old generation."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
_DEFAULT_THRESHOLDS = gc.get_threshold()


def settle_after_startup() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = _DEFAULT_THRESHOLDS
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def release_at_shutdown() -> None:
    """Everything back in the collector's reach, and its thresholds, so that an app stopped
    inside a longer-lived process (the tests start many) leaves nothing behind."""
    gc.unfreeze()
    gc.set_threshold(*_DEFAULT_THRESHOLDS)
