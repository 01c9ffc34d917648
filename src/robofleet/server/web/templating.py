"""The Jinja2 environment: templates from the package, HTML autoescaped, a few filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from robofleet import __version__
from robofleet.contract import JobStatus, RobotStatus, TaskStatus, TriggerStatus

ENVIRONMENT = Environment(
    loader=PackageLoader("robofleet.server.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def when(value: datetime | str | None) -> Markup | str:
    """A UTC time as a <time> element (the script shows it in the browser's zone)."""
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, datetime) else _parse(value)
    if moment is None:
        return str(value)
    iso = moment.isoformat()
    shown = moment.strftime("%Y-%m-%d %H:%M:%S")
    return Markup('<time datetime="{}">{} UTC</time>').format(iso, shown)


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def status_badge(status: Any) -> Markup:
    """A status word in a badge whose colour says good, bad, busy or idle."""
    text = str(getattr(status, "value", status) or "—")
    return Markup('<span class="badge badge-{}">{}</span>').format(_tone(text), text)


_TONES = {
    "good": {
        s.label.lower()
        for s in (JobStatus.SUCCESS, TaskStatus.SUCCESS, RobotStatus.READY, TriggerStatus.ENABLED)
    },
    "bad": {
        s.label.lower()
        for s in (
            JobStatus.FAILED,
            JobStatus.ABORTED,
            TaskStatus.FAILED_APPLICATION,
            TaskStatus.FAILED_BUSINESS,
            TaskStatus.ABANDONED,
            RobotStatus.DISCONNECTED,
        )
    },
    "busy": {
        s.label.lower()
        for s in (
            JobStatus.PENDING,
            JobStatus.IN_PROGRESS,
            JobStatus.STOPPING,
            JobStatus.ABORTING,
            TaskStatus.NEW,
            TaskStatus.IN_PROGRESS,
            TaskStatus.POSTPONED,
            RobotStatus.WORKING,
        )
    },
}


def _tone(text: str) -> str:
    lowered = text.lower()
    for tone, words in _TONES.items():
        if lowered in words:
            return tone
    return "idle"


ENVIRONMENT.filters["when"] = when
ENVIRONMENT.filters["status"] = status_badge
ENVIRONMENT.globals["version"] = __version__
