"""Small helpers the administration screens share: form values to request fields, periods."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

PERIODS: Final = (
    ("", "Any time"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
)
_SPANS: Final = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


def period_start(period: str | None, now: datetime) -> datetime | None:
    """The start of a period chosen in a filter (None: any time)."""
    span = _SPANS.get(period or "")
    return now - span if span else None


def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def flag(form: Mapping[str, Any], name: str) -> bool:
    """A checkbox: sent (as "on") when ticked, absent when not."""
    return text(form, name).lower() in {"on", "yes", "1", "true"}


def non_empty(values: Mapping[str, str]) -> dict[str, str]:
    """The fields given a value (empty filters mean "any")."""
    return {key: value for key, value in values.items() if value}
