"""Token buckets, one per key (a robot), held by one server process.

A request takes all the tokens it needs or none: a batch of log lines is accepted or refused
whole. A request larger than the burst is let through when the bucket is full and leaves it in
debt, so no batch is refused for ever; the debt is paid back before anything else passes.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    max_keys: int = 100_000
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    """key -> (tokens, monotonic time they were counted)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(
        self, key: int, amount: int, *, rate: float, burst: int, now: float | None = None
    ) -> float:
        """Take `amount` tokens for `key`: 0.0 when taken, else the seconds to wait before
        the same request would be accepted (nothing is taken then). `rate` 0 means no limit."""
        if rate <= 0 or amount <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - then) * rate)
            needed = min(float(amount), float(burst))
            if tokens < needed:
                self._buckets[key] = (tokens, now)
                return (needed - tokens) / rate
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._forget_full(now, rate, burst)
            self._buckets[key] = (tokens - amount, now)
            return 0.0

    def _forget_full(self, now: float, rate: float, burst: int) -> None:
        """Drop the buckets that have refilled: a full bucket is the same as none."""
        for key, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * rate >= burst:
                del self._buckets[key]


def retry_after_seconds(wait: float) -> int:
    """Retry-After is whole seconds; round up so a client waiting that long gets through."""
    return max(1, math.ceil(wait))
