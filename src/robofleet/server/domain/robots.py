"""Robot statuses (Sherpa's codes) and their moves."""

from __future__ import annotations

from enum import IntEnum

from robofleet.server.domain.errors import InvalidTransition


class RobotStatus(IntEnum):
    DISCONNECTED = 0
    UNLICENSED = 1
    READY = 2
    WORKING = 3

    @property
    def label(self) -> str:
        return self.name.title()


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
