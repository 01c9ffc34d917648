"""A few threads that run the front's blocking service calls.

Leaner than `loop.run_in_executor`: one C queue in, one `call_soon_threadsafe` out, no
concurrent.futures Future chained to an asyncio one (in the profile that chaining and
ThreadPoolExecutor.submit cost more than the rest of the front)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Workers:
    def __init__(self, threads: int, name: str = "fast-front") -> None:
        self.threads = threads
        self.name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._started = False
        self._lock = threading.Lock()

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        if not self._started:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((loop, future, call, args))
        return await future

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            for number in range(self.threads):
                # Daemon: an idle worker must not keep the process from exiting.
                worker = threading.Thread(
                    target=self._work, name=f"{self.name}-{number}", daemon=True
                )
                worker.start()
            self._started = True

    def _work(self) -> None:
        while True:
            loop, future, call, args = self._jobs.get()
            try:
                result, error = call(*args), None
            except BaseException as exc:  # handed to the awaiting request, raised there
                result, error = None, exc
            # A closed loop (RuntimeError) has nobody left waiting for the answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, result, error)
            del loop, future, call, args, result, error
