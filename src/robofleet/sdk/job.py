"""The job script's side of the agent: parameters in; log lines, progress, a return value and
the stop request through files in the control folder (the server need not be reachable)."""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from robofleet.contract import (
    LEVELS_BY_SEVERITY,
    SCREENSHOT_MAX_BYTES,
    ControlFile,
    image_type,
    normalize_level,
)
from robofleet.sdk import context

_write_lock = threading.Lock()
_interrupted = threading.Event()


def _note_interrupt(signum: int, frame: Any) -> None:
    _interrupted.set()
    signal.default_int_handler(signum, frame)  # then KeyboardInterrupt, as without the SDK


# The agent's soft stop interrupts the job before it creates the stop file: a script that
# catches the KeyboardInterrupt and asks should_stop() must not find the file missing yet.
# Only Python's own handler is replaced, and only where signals can be handled at all.
if (
    threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGINT) is signal.default_int_handler
):
    signal.signal(signal.SIGINT, _note_interrupt)


def parameters() -> dict[str, Any]:
    """The job's parameters ({} outside a robot); a fresh copy on every call."""
    return context.job_parameters()


def parameter(name: str, default: Any = None) -> Any:
    return context.job_parameters().get(name, default)


def default_task() -> dict[str, Any] | None:
    """The job's default task, or None."""
    return context.default_task()


def job_guid() -> str | None:
    return context.job_guid()


def robot_guid() -> str | None:
    return context.robot_guid()


def _level(level: str) -> str:
    """The SDK refuses an unknown level: the script's author gets to fix it."""
    known = normalize_level(level)
    if known is None:
        raise ValueError(f"log level must be one of {', '.join(LEVELS_BY_SEVERITY)}, not {level!r}")
    return known.value


def _screenshot(path: str | os.PathLike[str]) -> str:
    """The image at `path`, base64-encoded; ValueError when it is not one the server keeps."""
    data = Path(path).read_bytes()
    if len(data) > SCREENSHOT_MAX_BYTES:
        raise ValueError(f"screenshot {path} is larger than {SCREENSHOT_MAX_BYTES} bytes")
    if image_type(data[:16]) is None:
        raise ValueError(f"screenshot {path} is not a PNG, JPEG, GIF, WebP or BMP image")
    return base64.b64encode(data).decode("ascii")


def log(
    level: str,
    message: str,
    *,
    screenshot: str | os.PathLike[str] | None = None,
    **fields: Any,
) -> None:
    """Write one log line for the job (to stderr outside a robot). Safe from several threads.
    `screenshot` is the path of an image (PNG, JPEG, GIF, WebP or BMP, up to 5 MiB) shown
    with the line; it is read at once, so the file may be deleted after the call."""
    name = _level(level)
    image = _screenshot(screenshot) if screenshot is not None else None
    control = context.control_dir()
    if control is None:
        extra = f" {json.dumps(fields, default=str)}" if fields else ""
        shot = f" [screenshot {screenshot}]" if screenshot is not None else ""
        sys.stderr.write(f"{name.upper()} {message}{extra}{shot}\n")
        sys.stderr.flush()
        return
    record = {
        "time": datetime.now(UTC).isoformat(),
        "level": name,
        "message": str(message),
        "fields": fields,
    }
    if image is not None:
        record["screenshot"] = image
    data = (json.dumps(record, default=str) + "\n").encode("utf-8")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
    with _write_lock:
        # One write call per line: lines from several threads or processes never interleave.
        fd = os.open(control / ControlFile.LOG, flags, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def set_progress(n: int) -> None:
    """Report how far the job is, 0 to 100."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 100:
        raise ValueError(f"progress must be an integer from 0 to 100, not {n!r}")
    control = context.control_dir()
    if control is None:
        sys.stderr.write(f"PROGRESS {n}\n")
        return
    _atomic_write(control / ControlFile.PROGRESS, str(n))


def set_return_value(value: Any) -> None:
    """The job's result: any JSON-serialisable value. The last call wins."""
    text = json.dumps(value, allow_nan=False)  # fails here, in the script, if not JSON
    control = context.control_dir()
    if control is None:
        sys.stderr.write(f"RETURN VALUE {text}\n")
        return
    _atomic_write(control / ControlFile.RETURN_VALUE, text)


def should_stop() -> bool:
    """True once a soft stop was requested (or the script was interrupted, Ctrl+C included):
    finish the current item and return."""
    if _interrupted.is_set():
        return True
    control = context.control_dir()
    return control is not None and (control / ControlFile.STOP).exists()


def _atomic_write(path: Path, text: str) -> None:
    # The agent reads these files while the job runs: it must never see half of one.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        for attempt in range(50):
            try:
                Path(temp).replace(path)
                return
            except PermissionError:  # Windows: the agent has the file open right now
                if attempt == 49:
                    raise
                time.sleep(0.02)
    finally:
        Path(temp).unlink(missing_ok=True)
