"""Robot statuses (robofleet.contract.RobotStatus). A robot's status is free: any status may
follow any other (docs/decisions.md), so there is no transition table here."""

from __future__ import annotations

from robofleet.contract import RobotStatus as RobotStatus

__all__ = ["RobotStatus"]
