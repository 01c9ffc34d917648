"""Which robots a trigger's jobs go to: Sherpa's RobotType, read both ways.

Sherpa's trigger page says RobotType 0 is one robot and 1 a group, yet that RobotId is "only
for RobotType=2", and its read example shows robot_type 2 with a robot_id; its Resource tab
uses 1 one robot, 2 group. Robofleet stores Resource's scheme (1 robot, 2 group) and lets the
target that is named decide (docs/decisions.md):

- RobotId given: one robot, whatever RobotType says (0, 1 and 2 each mean one robot under one
  of Sherpa's readings);
- RobotGroupId given: a group; RobotType 0 is refused (it means one robot in every reading);
- both, or neither: refused, naming the field.
"""

from __future__ import annotations

from robofleet.server.domain.errors import InvalidInput

ONE_ROBOT = 1
ROBOT_GROUP = 2


def robot_target(robot_type: int | None, *, robot: bool, group: bool) -> int:
    """The stored robot_type (1 one robot, 2 group) for the given RobotType and targets."""
    if robot and group:
        raise InvalidInput.for_field(
            "RobotGroupId", "a trigger targets one robot (RobotId) or one group, not both"
        )
    if robot:
        return ONE_ROBOT
    if group:
        if robot_type == 0:
            raise InvalidInput.for_field(
                "RobotType", "0 means one robot; a group trigger takes RobotType 1 or 2 (or none)"
            )
        return ROBOT_GROUP
    raise InvalidInput.for_field(
        "RobotId",
        "is required: a trigger targets one robot (RobotId) or a robot group (RobotGroupId)",
    )
