"""A few threads that run the front's blocking service calls.

Leaner than `loop.run_in_executor`: a job goes straight into one thread's inbox and its answer
comes back through one `call_soon_threadsafe`, with no concurrent.futures Future chained to an
asyncio one. The thread idle the shortest time gets the next job (last in, first out), so light
traffic keeps one warm thread busy instead of waking each in turn: that cost context switches."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]
_Inbox = queue.SimpleQueue[_Job]


def settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Hand a thread's answer to the awaiting request (on the loop), unless it gave up."""
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
        self._idle: list[_Inbox] = []
        self._backlog: deque[_Job] = deque()
        self._started = 0
        self._lock = threading.Lock()

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        job: _Job = (loop, future, call, args)
        inbox: _Inbox | None = None
        with self._lock:
            if self._idle:
                inbox = self._idle.pop()
            elif self._started < self.threads:
                inbox = self._start()
            else:
                self._backlog.append(job)
        if inbox is not None:
            inbox.put(job)
        return await future

    def _start(self) -> _Inbox:
        inbox: _Inbox = queue.SimpleQueue()
        name = f"{self.name}-{self._started}"
        # Daemon: an idle worker must not keep the process from exiting.
        threading.Thread(target=self._work, args=(inbox,), name=name, daemon=True).start()
        self._started += 1
        return inbox

    def _work(self, inbox: _Inbox) -> None:
        job = inbox.get()
        while True:
            loop, future, call, args = job
            try:
                result, error = call(*args), None
            except BaseException as exc:  # handed to the awaiting request, raised there
                result, error = None, exc
            # A closed loop (RuntimeError) has nobody left waiting for the answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, future, result, error)
            del loop, future, call, args, result, error
            with self._lock:
                next_job = self._backlog.popleft() if self._backlog else None
                if next_job is None:
                    self._idle.append(inbox)
            job = next_job if next_job is not None else inbox.get()
