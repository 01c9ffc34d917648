"""Robot statuses (Sherpa's codes). A robot's status is free: any status may follow any
other (docs/decisions.md), so there is no transition table here."""

from __future__ import annotations

from enum import IntEnum


class RobotStatus(IntEnum):
    DISCONNECTED = 0
    UNLICENSED = 1
    READY = 2
    WORKING = 3

    @property
    def label(self) -> str:
        return self.name.title()
