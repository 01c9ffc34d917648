"""Which resource a reference names for a caller, and the scope a create or update sets.

Scope (Sherpa's RobotType): 3 all robots, 2 one robot group, 1 one robot. Several resources
may share a name at different scopes. A robot naming one gets the most specific it is
entitled to: its own (1) before its group's (2) before all robots' (3); RobotType's numbers
already sort that way. A user or key naming an ambiguous name gets 409 listing the GUIDs
(docs/decisions.md): guessing would hand out the wrong credential silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from robofleet.server.db.tables import ResourceRow, RobotGroupRow, RobotRow
from robofleet.server.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from robofleet.server.domain.refs import parse_ref
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find, scoped

ALL_ROBOTS, ROBOT_GROUP, ONE_ROBOT = 3, 2, 1
SCOPE_NAMES = {ONE_ROBOT: "robot", ROBOT_GROUP: "robot group", ALL_ROBOTS: "all robots"}


@dataclass(frozen=True)
class Scope:
    robot_type: int
    robot_id: int | None = None
    robot_group_id: int | None = None

    @property
    def key(self) -> str:
        """What the unique index compares: one name once per scope."""
        if self.robot_type == ONE_ROBOT:
            return f"robot:{self.robot_id}"
        if self.robot_type == ROBOT_GROUP:
            return f"group:{self.robot_group_id}"
        return "all"


def scope_of(row: ResourceRow) -> Scope:
    return Scope(row.robot_type, row.robot_id, row.robot_group_id)


def resolve_scope(
    session: Session,
    caller: Caller,
    robot_type: int | None,
    robot: int | str | None,
    robot_group: int | str | None,
) -> Scope:
    """The scope a request asks for; RobotType may be left out when a robot or a group is
    named. A robot creates and moves resources only within its own scope (itself)."""
    if robot_type is None:
        robot_type = (
            ONE_ROBOT
            if robot is not None
            else ROBOT_GROUP
            if robot_group is not None
            else ALL_ROBOTS
        )
        if caller.robot_id is not None and robot is None and robot_group is None:
            robot_type = ONE_ROBOT
    if robot_type == ONE_ROBOT:
        if robot_group is not None:
            raise InvalidInput.for_field("RobotGroupId", "is only for RobotType 2 (robot group)")
        if robot is None:
            if caller.robot_id is None:
                raise InvalidInput.for_field("RobotId", "is required for RobotType 1 (one robot)")
            scope = Scope(ONE_ROBOT, robot_id=caller.robot_id)
        else:
            scope = Scope(ONE_ROBOT, robot_id=_robot(session, caller, robot).id)
    elif robot_type == ROBOT_GROUP:
        if robot is not None:
            raise InvalidInput.for_field("RobotId", "is only for RobotType 1 (one robot)")
        if robot_group is None:
            raise InvalidInput.for_field(
                "RobotGroupId", "is required for RobotType 2 (one robot group)"
            )
        group = find(
            session, RobotGroupRow, caller, robot_group, entity="robot group", field="RobotGroupId"
        )
        scope = Scope(ROBOT_GROUP, robot_group_id=group.id)
    else:
        for name, value in (("RobotId", robot), ("RobotGroupId", robot_group)):
            if value is not None:
                raise InvalidInput.for_field(name, "is not for RobotType 3 (all robots)")
        scope = Scope(ALL_ROBOTS)
    if caller.robot_id is not None and scope != Scope(ONE_ROBOT, robot_id=caller.robot_id):
        raise Forbidden(
            "a robot creates and moves resources only in its own scope (RobotType 1, itself)",
            reason="robot_scope_only",
        )
    return scope


def _robot(session: Session, caller: Caller, ref: int | str) -> RobotRow:
    return find(session, RobotRow, caller, ref, entity="robot", field="RobotId")


def find_resource(
    session: Session,
    caller: Caller,
    ref: int | str,
    *,
    field: str = "Guid",
    for_update: bool = False,
) -> ResourceRow:
    """The resource `ref` names for this caller (see the module's doc); NotFound outside a
    robot's scope, as for objects that do not exist."""
    parsed = parse_ref(ref, field=field)
    if parsed.kind != "name":
        return find(
            session, ResourceRow, caller, ref, entity="resource", field=field, for_update=for_update
        )
    query = (
        scoped(ResourceRow, caller)
        .where(ResourceRow.name == parsed.value)
        .order_by(ResourceRow.robot_type, ResourceRow.id)
        .limit(2 if caller.robot_id is None else 1)
    )
    if for_update:
        query = query.with_for_update()
    rows = list(session.scalars(query))
    if not rows:
        raise NotFound("resource", ref)
    if len(rows) > 1:
        everyone = session.scalars(
            scoped(ResourceRow, caller).where(ResourceRow.name == parsed.value)
        ).all()
        listed = ", ".join(f"{r.guid} ({SCOPE_NAMES[r.robot_type]})" for r in everyone)
        raise Conflict(
            f"several resources are named '{parsed.value}' at different scopes: {listed}; "
            "name one by its GUID (a robot gets the one its scope selects)",
            code="ambiguous_name",
        )
    return rows[0]
