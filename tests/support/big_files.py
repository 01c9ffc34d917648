"""Large test files written block by block, never held in memory."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from pathlib import Path

import psutil

BLOCK = 1024 * 1024


def write_big_file(path: Path, size: int) -> str:
    """`size` bytes of a pattern that differs in every block (so a swapped or repeated block
    changes the hash); answers the SHA-256."""
    digest = hashlib.sha256()
    base = bytes(range(256)) * (BLOCK // 256)
    with path.open("wb") as out:
        written = 0
        number = 0
        while written < size:
            block = number.to_bytes(8, "big") + base[8:]
            block = block[: min(BLOCK, size - written)]
            digest.update(block)
            out.write(block)
            written += len(block)
            number += 1
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


class PeakMemory:
    """Samples a process tree's resident memory in a thread; `peak` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = 0
        for proc in (self.process, *self.process.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
