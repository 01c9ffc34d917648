"""Robot groups: named sets of robots that jobs and triggers can target."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import RobotGroupMemberRow, RobotGroupRow, RobotRow
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.robots import (
    RobotGroupCreate,
    RobotGroupCreated,
    RobotGroupMembership,
    RobotGroupRead,
    RobotGroupUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.folders import folder_id_for
from robofleet.server.services.access.lookup import ensure_name_free, find, scoped


def find_group(
    session: Session, caller: Caller, ref: int | str, *, field: str = "RobotGroup"
) -> RobotGroupRow:
    return find(session, RobotGroupRow, caller, ref, entity="robot group", field=field)


def _read(session: Session, group: RobotGroupRow) -> RobotGroupRead:
    robots = session.scalars(
        select(RobotRow.guid)
        .join(RobotGroupMemberRow, RobotGroupMemberRow.robot_id == RobotRow.id)
        .where(RobotGroupMemberRow.group_id == group.id, RobotRow.is_deleted.is_(False))
        .order_by(RobotRow.id)
    ).all()
    return RobotGroupRead.model_validate(
        {
            **group.__dict__,
            "robots": list(robots),
            "created": group.created_at,
            "updated": group.updated_at,
        }
    )


def create_group(runtime: Runtime, caller: Caller, data: RobotGroupCreate) -> RobotGroupCreated:
    caller.require(Screen.ROBOT_GROUP, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        ensure_name_free(session, RobotGroupRow, caller, data.name, entity="robot group")
        group = RobotGroupRow(
            account_id=caller.account_id,
            name=data.name,
            description=data.description,
            folder_id=folder_id_for(session, caller, data.folder),
        )
        session.add(group)
        session.flush()
        return RobotGroupCreated(guid=group.guid)


def read_group(runtime: Runtime, caller: Caller, ref: int | str) -> RobotGroupRead:
    caller.require(Screen.ROBOT_GROUP, Action.READ)
    with runtime.db.read() as session:
        return _read(session, find_group(session, caller, ref))


def list_groups(runtime: Runtime, caller: Caller) -> list[RobotGroupRead]:
    caller.require(Screen.ROBOT_GROUP, Action.READ)
    with runtime.db.read() as session:
        groups = session.scalars(scoped(RobotGroupRow, caller).order_by(RobotGroupRow.id))
        return [_read(session, group) for group in groups]


def update_group(runtime: Runtime, caller: Caller, data: RobotGroupUpdate) -> None:
    caller.require(Screen.ROBOT_GROUP, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        group = find_group(session, caller, data.guid, field="Guid")
        if data.name is not None and data.name != group.name:
            ensure_name_free(session, RobotGroupRow, caller, data.name, entity="robot group")
            group.name = data.name
        if data.description is not None:
            group.description = data.description
        if "folder" in data.model_fields_set:
            group.folder_id = folder_id_for(session, caller, data.folder)


def delete_group(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.ROBOT_GROUP, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        group = find_group(session, caller, ref)
        group.is_deleted = True
        session.execute(delete(RobotGroupMemberRow).where(RobotGroupMemberRow.group_id == group.id))


def add_robot(runtime: Runtime, caller: Caller, data: RobotGroupMembership) -> None:
    caller.require(Screen.ROBOT_GROUP, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        group = find_group(session, caller, data.robot_group_guid, field="RobotGroupGuid")
        robot = find(session, RobotRow, caller, data.robot_guid, entity="robot", field="RobotGuid")
        if session.get(RobotGroupMemberRow, (group.id, robot.id)) is None:
            session.add(RobotGroupMemberRow(group_id=group.id, robot_id=robot.id))


def remove_robot(runtime: Runtime, caller: Caller, data: RobotGroupMembership) -> None:
    caller.require(Screen.ROBOT_GROUP, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        group = find_group(session, caller, data.robot_group_guid, field="RobotGroupGuid")
        robot = find(session, RobotRow, caller, data.robot_guid, entity="robot", field="RobotGuid")
        session.execute(
            delete(RobotGroupMemberRow).where(
                RobotGroupMemberRow.group_id == group.id, RobotGroupMemberRow.robot_id == robot.id
            )
        )
