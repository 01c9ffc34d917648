"""Requests a stopping agent abandons at once: the server holds the waitJob long poll for up
to 30 s, and an idle agent asked to stop must be gone within a second.

The request runs on a helper thread while the calling thread watches both its end and the
stop event. On stop, the socket of the request's connection is shut down. That wakes the
helper's blocked read (closing an httpx client from another thread does not), and the server
sees the connection close at once: it stops holding the poll and takes no job for a robot
that has left. Socket shutdown is the same call on Windows and POSIX; should a platform not
wake the blocked read, the helper is a daemon thread and the agent leaves without it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

CHECK_EVERY = 0.05
"""How often the waiting thread looks at the stop event. A signal interrupts a thread's wait
on POSIX but not on Windows, so the wait is cut in short slices rather than left to it."""

UNWIND = 0.5
"""How long to let the helper unwind once its connection is shut down (so the connection is
closed before the agent says goodbye), at most."""

_NEW_CONNECTION = ("connection.connect_tcp.complete", "connection.start_tls.complete")


class Interrupted(Exception):
    """The stop event was set before the request ended; the request was abandoned."""


class SocketWatch:
    """The sockets of the connections a client opens, learnt from httpcore's `trace` request
    extension (public API: it names each new connection's stream), so that another thread
    can shut them down."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """Pass as `extensions={"trace": watch.trace}` on each request."""
        if event not in _NEW_CONNECTION:
            return
        stream = info.get("return_value")
        get_extra_info = getattr(stream, "get_extra_info", None)
        sock = get_extra_info("socket") if callable(get_extra_info) else None
        if isinstance(sock, socket.socket):
            with self._lock:
                # A TLS socket replaces the plain one it wraps; closed ones have no file.
                self._sockets = [s for s in self._sockets if s.fileno() != -1]
                self._sockets.append(sock)

    def shut_down(self) -> None:
        """End the connections now: a read on them returns, the server sees them close.
        The sockets are not closed here: their owner closes them as it unwinds (closing a
        socket another thread reads could hand its number to a new socket meanwhile)."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def until_stopped(stop: threading.Event, send: Callable[[], T], abort: Callable[[], None]) -> T:
    """What `send()` returns or raises, run on a helper thread; if `stop` is set first,
    `abort()` is called to end it and Interrupted is raised."""
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(send())
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="robofleet-long-poll", daemon=True).start()
    while not done.wait(CHECK_EVERY):
        if stop.is_set():
            abort()
            done.wait(UNWIND)
            raise Interrupted
    if failure:
        raise failure[0]
    return outcome[0]
