"""The one place with operating-system specific calls (Windows versus POSIX).

Everything else in the agent is written against these functions, pathlib and psutil, so it runs
unchanged on Linux, macOS and Windows.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def child_popen_options() -> dict[str, Any]:
    """Popen options that put a job in its own process group (session on POSIX), so a soft
    interrupt reaches the whole job and never the agent, and Ctrl+C at the agent's terminal
    never reaches the job directly.

    On POSIX the child's SIGINT is set back to the default: an agent started in the
    background by a script (`agent &`) ignores SIGINT, a child inherits that, and the soft
    stop's interrupt would then never reach the job. On Linux the child also gets
    PR_SET_PDEATHSIG(SIGKILL): it dies if the agent is killed. That signal follows the
    *thread* that started the child, so start children from a long-lived thread (the agent's
    protocol thread)."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    options: dict[str, Any] = {"start_new_session": True}
    hook = _child_hook()
    if hook is not None:
        options["preexec_fn"] = hook
    return options


def _child_hook() -> Callable[[], None] | None:
    """What a POSIX child runs between fork and exec (child_popen_options)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        # Resolved in the parent: the hook runs between fork and exec and must not import.
        libc = ctypes.CDLL(name, use_errno=True)
        set_handler = libc.signal
    except (OSError, AttributeError):
        return None
    set_handler.argtypes = [ctypes.c_int, ctypes.c_void_p]
    set_handler.restype = ctypes.c_void_p
    prctl = getattr(libc, "prctl", None) if sys.platform.startswith("linux") else None
    parent = os.getpid()
    sigkill = int(signal.SIGKILL)
    sigint = int(signal.SIGINT)

    def hook() -> None:
        set_handler(sigint, None)  # SIG_DFL
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
            if os.getppid() != parent:  # the agent died before prctl took effect
                os.kill(os.getpid(), sigkill)

    return hook


def send_soft_interrupt(pid: int) -> None:
    """Ask a job (started with child_popen_options) to stop: Ctrl+C on POSIX, Ctrl+Break on
    Windows, delivered to its whole process group."""
    try:
        if sys.platform == "win32":
            os.kill(pid, signal.CTRL_BREAK_EVENT)
        else:
            os.killpg(pid, signal.SIGINT)  # the child leads its own session: pgid == pid
    except (ProcessLookupError, PermissionError, OSError) as exc:
        log.debug("soft interrupt to %s not delivered: %s", pid, exc)


def _kill_group(pid: int) -> None:
    """POSIX: also catch descendants that were orphaned (reparented away from the job) but
    stayed in its process group. Call only while the job leader is not yet reaped, so the
    group id cannot have been reused."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def kill_tree(pid: int, timeout: float = 5.0) -> None:
    """Kill a job's process and all its descendants at once, and wait until the descendants
    are gone. The root itself is left for its Popen to reap (psutil reaping it would make
    Popen lose the exit code)."""
    try:
        root = psutil.Process(pid)
        descendants = root.children(recursive=True)
    except psutil.NoSuchProcess:
        root, descendants = None, []
    for proc in [root, *descendants] if root is not None else descendants:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.kill()
    _kill_group(pid)
    _wait_gone(descendants, timeout)


def _wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    # A killed orphan stays a zombie until some init reaps it, and not every init does: a
    # zombie runs nothing, so it counts as gone.
    deadline = time.monotonic() + timeout
    alive = list(procs)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if is_alive(p)]
        if alive:
            time.sleep(0.05)
    for proc in alive:
        log.warning("process %s survived the kill", proc.pid)


def is_alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def venv_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def shutdown_signals() -> list[signal.Signals]:
    """The signals that ask the agent to finish: Ctrl+C everywhere, plus SIGTERM (service
    managers) on POSIX and Ctrl+Break on Windows."""
    if sys.platform == "win32":
        return [signal.SIGINT, signal.SIGBREAK]
    return [signal.SIGINT, signal.SIGTERM]


def posix_command_line() -> bool:
    """Split `command` entry points with POSIX rules except on Windows."""
    return os.name != "nt"
