"""Robot Framework's output.xml turned into log lines and the job's return value
`{"passed", "failed", "skipped", "tests"}`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from robofleet.contract import LogLevel
from robofleet.robot.logship import LogLine

_LEVELS = {
    "TRACE": LogLevel.DEBUG,
    "DEBUG": LogLevel.DEBUG,
    "INFO": LogLevel.INFO,
    "HTML": LogLevel.INFO,
    "WARN": LogLevel.WARNING,
    "ERROR": LogLevel.ERROR,
    "FAIL": LogLevel.ERROR,
    "SKIP": LogLevel.WARNING,
}
_VERDICT_LEVELS = {"PASS": LogLevel.INFO, "FAIL": LogLevel.ERROR, "SKIP": LogLevel.WARNING}


@dataclass
class RobotRun:
    lines: list[LogLine] = field(default_factory=list)
    tests: list[dict[str, str]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for test in self.tests if test["status"] == status)

    @property
    def return_value(self) -> dict[str, Any]:
        return {
            "passed": self.count("PASS"),
            "failed": self.count("FAIL"),
            "skipped": self.count("SKIP"),
            "tests": self.tests,
        }

    def summary(self) -> str:
        """One line for the job's message, e.g. `1 of 2 tests failed (Login: timeout)`."""
        failed = [t for t in self.tests if t["status"] == "FAIL"]
        if not failed:
            return f"{len(self.tests)} tests, {self.count('PASS')} passed"
        first = failed[0]
        return (
            f"{len(failed)} of {len(self.tests)} tests failed ({first['name']}: {first['message']})"
        )


def parse_output(path: Path) -> RobotRun:
    """Read an output.xml written by Robot Framework (schema 4 of RF 6 and 5 of RF 7)."""
    root = ET.parse(path).getroot()  # noqa: S314  # our own child wrote it, in our folder
    run = RobotRun()
    seen: set[tuple[str, str]] = set()
    for suite in root.findall("suite"):
        _walk_suite(suite, run, seen)
    errors = root.find("errors")
    if errors is not None:
        # Execution errors (bad syntax, missing libraries) are reported only here.
        for msg in errors.findall("msg"):
            if (msg.get("time") or msg.get("timestamp") or "", msg.text or "") not in seen:
                run.lines.append(_line(msg, {"source": "robot errors"}))
    return run


def _walk_suite(suite: ET.Element, run: RobotRun, seen: set[tuple[str, str]]) -> None:
    for child in suite:
        if child.tag == "kw":  # suite setup or teardown
            _messages(child, run, seen, {"suite": suite.get("name", "")})
        elif child.tag == "test":
            _test(child, run, seen)
        elif child.tag == "suite":
            _walk_suite(child, run, seen)


def _messages(
    element: ET.Element, run: RobotRun, seen: set[tuple[str, str]], fields: dict[str, Any]
) -> None:
    for msg in element.iter("msg"):
        seen.add((msg.get("time") or msg.get("timestamp") or "", msg.text or ""))
        run.lines.append(_line(msg, fields))


def _test(test: ET.Element, run: RobotRun, seen: set[tuple[str, str]]) -> None:
    name = test.get("name", "")
    _messages(test, run, seen, {"test": name})
    status = test.find("status")
    verdict = status.get("status", "FAIL") if status is not None else "FAIL"
    message = (status.text or "").strip() if status is not None else ""
    run.tests.append({"name": name, "status": verdict, "message": message})
    text = f"FAIL {name}: {message}" if verdict == "FAIL" else f"{verdict} {name}"
    run.lines.append(
        LogLine(
            level=_VERDICT_LEVELS.get(verdict, LogLevel.INFO),
            message=text,
            fields={"test": name, "status": verdict},
            time=_end_time(status),
        )
    )


def _line(msg: ET.Element, fields: dict[str, Any]) -> LogLine:
    level = _LEVELS.get((msg.get("level") or "INFO").upper(), LogLevel.INFO)
    when = _time(msg.get("time") or msg.get("timestamp"))
    return LogLine(level=level, message=msg.text or "", fields=dict(fields), time=when)


def _end_time(status: ET.Element | None) -> float:
    if status is None:
        return datetime.now().timestamp()
    start = _time(status.get("start") or status.get("starttime"))
    if status.get("endtime"):
        return _time(status.get("endtime"))
    try:
        return start + float(status.get("elapsed", "0"))
    except ValueError:
        return start


def _time(text: str | None) -> float:
    """RF 7 writes ISO times, RF 6 `20240131 17:00:00.000`; both in local time."""
    if not text or text == "N/A":
        return datetime.now().timestamp()
    for parse in (datetime.fromisoformat, _rf6_time):
        try:
            return parse(text).timestamp()
        except ValueError:
            continue
    return datetime.now().timestamp()


def _rf6_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d %H:%M:%S.%f")  # local time, as RF wrote it
