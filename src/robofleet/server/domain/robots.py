"""The moves between robot statuses (robofleet.contract.RobotStatus)."""

from __future__ import annotations

from robofleet.contract import RobotStatus as RobotStatus
from robofleet.server.domain.errors import InvalidTransition

ALLOWED: dict[RobotStatus, frozenset[RobotStatus]] = {
    RobotStatus.DISCONNECTED: frozenset(
        {RobotStatus.READY, RobotStatus.WORKING, RobotStatus.UNLICENSED}
    ),
    RobotStatus.UNLICENSED: frozenset(
        {RobotStatus.DISCONNECTED, RobotStatus.READY, RobotStatus.WORKING}
    ),
    RobotStatus.READY: frozenset(
        {RobotStatus.WORKING, RobotStatus.DISCONNECTED, RobotStatus.UNLICENSED}
    ),
    RobotStatus.WORKING: frozenset(
        {RobotStatus.READY, RobotStatus.DISCONNECTED, RobotStatus.UNLICENSED}
    ),
}


def check_transition(current: RobotStatus, requested: RobotStatus) -> None:
    if current != requested and requested not in ALLOWED[current]:
        raise InvalidTransition("robot", current.label, requested.label)
