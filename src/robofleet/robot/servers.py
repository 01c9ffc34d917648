"""The servers an agent talks to: one URL, or the nodes of one orchestrator (ROBOFLEET_SERVER
with several URLs separated by commas), and which of them it uses now.

Every client of one agent (its main loop, the log shipper, package downloads) shares one list,
so when one of them finds a node gone, the others move on with it instead of each finding out
for itself.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from robofleet.contract import server_urls


class ServerList:
    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("no server URL")
        self.urls = tuple(urls)
        self._current = 0
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, value: str) -> ServerList:
        """From ROBOFLEET_SERVER's text (robofleet.contract.server_urls checks each URL)."""
        return cls(server_urls(value))

    def __len__(self) -> int:
        return len(self.urls)

    @property
    def current(self) -> str:
        with self._lock:
            return self.urls[self._current]

    def failed(self, url: str) -> str:
        """`url` failed: the next server becomes current, unless another thread already moved
        on from it. Answers the server to use now."""
        with self._lock:
            if self.urls[self._current] == url:
                self._current = (self._current + 1) % len(self.urls)
            return self.urls[self._current]

    def from_current(self) -> list[str]:
        """Every URL, the current one first (what a job is given: it starts where we are)."""
        with self._lock:
            return [*self.urls[self._current :], *self.urls[: self._current]]

    def __str__(self) -> str:
        return ",".join(self.urls)
