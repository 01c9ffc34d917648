"""The control folder a job shares with the agent (ROBOFLEET_CONTROL_DIR): the SDK writes
`log.jsonl`, `progress` and `return_value.json`; the agent creates `stop`."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from robofleet.contract import ControlFile, LogLevel
from robofleet.robot.logship import LogLine, line_level


class ControlFolder:
    def __init__(self, path: Path, sink: Callable[[LogLine], None]) -> None:
        self.path = path
        self._sink = sink
        self._offset = 0
        self._lock = threading.Lock()

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def request_stop(self) -> None:
        (self.path / ControlFile.STOP).touch()

    def progress(self) -> int | None:
        try:
            value = int((self.path / ControlFile.PROGRESS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # not written yet, or being replaced (Windows) this very moment
        return value if 0 <= value <= 100 else None

    def return_value(self) -> Any:
        try:
            return json.loads((self.path / ControlFile.RETURN_VALUE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            self._sink(LogLine(LogLevel.WARNING, f"unreadable return value: {exc}"))
            return None

    def tail(self, *, final: bool = False) -> None:
        """Pass on the lines the SDK appended to log.jsonl since the last look. Until `final`,
        a line without its newline yet is left for the next look."""
        with self._lock:
            try:
                with (self.path / ControlFile.LOG).open("rb") as handle:
                    handle.seek(self._offset)
                    data = handle.read()
            except OSError:
                return
            end = len(data) if final else data.rfind(b"\n") + 1
            self._offset += end
            for raw in data[:end].splitlines():
                if raw.strip():
                    self._sink(_line(raw.decode("utf-8", errors="replace")))


def _line(text: str) -> LogLine:
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return LogLine(LogLevel.INFO, text, {"source": ControlFile.LOG})
    fields = record.get("fields")
    when = time.time()
    with contextlib.suppress(TypeError, ValueError):
        when = datetime.fromisoformat(str(record.get("time"))).timestamp()
    screenshot = record.get("screenshot")
    return LogLine(
        line_level(record.get("level", LogLevel.INFO)),
        str(record.get("message", "")),
        fields if isinstance(fields, dict) else {},
        when,
        screenshot if isinstance(screenshot, str) and screenshot else None,
    )
