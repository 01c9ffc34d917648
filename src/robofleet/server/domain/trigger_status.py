"""A trigger's status (Sherpa's `Status` of a schedule)."""

from __future__ import annotations

from enum import IntEnum


class TriggerStatus(IntEnum):
    DISABLED = 0
    ENABLED = 1
    COMPLETED = 2
    """Set by the server: a queue condition finished on an empty queue."""

    @property
    def label(self) -> str:
        return self.name.capitalize()
