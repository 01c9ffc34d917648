"""Robots: registration, reads in Sherpa's PascalCase shape, and operator status changes."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from functools import partial
from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from robofleet.server.db import claims
from robofleet.server.db.base import utcnow
from robofleet.server.db.commit_hooks import on_commit
from robofleet.server.db.tables import (
    AccessFolderRow,
    RobotGroupMemberRow,
    RobotGroupRow,
)
from robofleet.server.db.tables.robots import RobotRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.robots import RobotStatus
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.planner_statistics import note_added
from robofleet.server.runtime.security import hash_robot_secret, new_robot_secret
from robofleet.server.schemas.robots import (
    RobotCreate,
    RobotCreated,
    RobotRead,
    RobotSecret,
    RobotSecretIssue,
    RobotSetStatus,
    RobotStatusRead,
    RobotUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.folders import folder_id_for
from robofleet.server.services.access.lookup import find, find_many, scoped


def find_robot(
    session: Session,
    caller: Caller,
    ref: int | str,
    *,
    field: str = "Robot",
    for_update: bool = False,
) -> RobotRow:
    return find(session, RobotRow, caller, ref, entity="robot", field=field, for_update=for_update)


def robot_read(session: Session, robot: RobotRow) -> RobotRead:
    folder_guid = (
        session.scalar(select(AccessFolderRow.guid).where(AccessFolderRow.id == robot.folder_id))
        if robot.folder_id
        else None
    )
    groups = session.scalars(
        select(RobotGroupRow.name)
        .join(RobotGroupMemberRow, RobotGroupMemberRow.group_id == RobotGroupRow.id)
        .where(RobotGroupMemberRow.robot_id == robot.id, RobotGroupRow.is_deleted.is_(False))
        .order_by(RobotGroupRow.name)
    ).all()
    return _as_read(robot, folder_guid, list(groups))


def create_robot(runtime: Runtime, caller: Caller, data: RobotCreate) -> RobotCreated:
    caller.require(Screen.ROBOT, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        robot = RobotRow(
            account_id=caller.account_id,
            name=data.name,
            description=data.description,
            robot_type=data.type,
            is_active=data.active,
            machine=data.machine,
            folder_id=folder_id_for(session, caller, data.folder),
            status=RobotStatus.DISCONNECTED,
        )
        session.add(robot)
        session.flush()
        groups = find_many(
            session, RobotGroupRow, caller, data.groups, entity="robot group", field="Groups"
        )
        session.add_all(RobotGroupMemberRow(group_id=g.id, robot_id=robot.id) for g in groups)
        secret = new_robot_secret()
        robot.secret_hash = hash_robot_secret(secret)
        on_commit(session, partial(note_added, runtime.planner_statistics, 1, "robots"))
        return RobotCreated(
            name=robot.name,
            description=robot.description,
            guid=robot.guid,
            status=robot.status,
            secret=secret,
        )


def issue_secret(runtime: Runtime, caller: Caller, data: RobotSecretIssue) -> RobotSecret:
    """A new secret for the robot, shown once; the previous one stops working."""
    caller.require(Screen.ROBOT, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        robot = find_robot(session, caller, data.guid, field="Guid", for_update=True)
        secret = new_robot_secret()
        robot.secret_hash = hash_robot_secret(secret)
        return RobotSecret(guid=robot.guid, secret=secret)


def read_robot(runtime: Runtime, caller: Caller, ref: int | str) -> RobotRead:
    caller.require(Screen.ROBOT, Action.READ)
    with runtime.db.read() as session:
        return robot_read(session, find_robot(session, caller, ref))


def list_robots(runtime: Runtime, caller: Caller) -> list[RobotRead]:
    caller.require_all(Screen.ROBOT, Action.READ)  # robots read only their own row
    with runtime.db.read() as session:
        robots = session.scalars(scoped(RobotRow, caller).order_by(RobotRow.id)).all()
        return robot_reads(session, robots)


def robot_reads(session: Session, robots: Sequence[RobotRow]) -> list[RobotRead]:
    """robot_read of many robots in three statements (not two per robot): their folders'
    GUIDs and their groups' names are read once for all."""
    if not robots:
        return []
    folder_ids = {robot.folder_id for robot in robots if robot.folder_id}
    folders = (
        dict(
            session.execute(
                select(AccessFolderRow.id, AccessFolderRow.guid).where(
                    AccessFolderRow.id.in_(folder_ids)
                )
            ).all()
        )
        if folder_ids
        else {}
    )
    groups: dict[int, list[str]] = {}
    rows = session.execute(
        select(RobotGroupMemberRow.robot_id, RobotGroupRow.name)
        .join(RobotGroupRow, RobotGroupMemberRow.group_id == RobotGroupRow.id)
        .where(
            RobotGroupRow.account_id == robots[0].account_id,
            RobotGroupRow.is_deleted.is_(False),
        )
        .order_by(RobotGroupRow.name)
    )
    for robot_id, name in rows:
        groups.setdefault(robot_id, []).append(name)
    return [
        _as_read(
            robot,
            folders.get(robot.folder_id) if robot.folder_id else None,
            groups.get(robot.id, []),
        )
        for robot in robots
    ]


def _as_read(robot: RobotRow, folder_guid: str | None, groups: list[str]) -> RobotRead:
    return RobotRead(
        id=robot.id,
        guid=robot.guid,
        name=robot.name,
        machine=robot.machine,
        status=robot.status,
        ip=robot.ip,
        mac=robot.mac,
        description=robot.description,
        license_expiration=robot.license_expiration,
        license_string=robot.license_string,
        created_at=robot.created_at,
        updated_at=robot.updated_at,
        last_heartbeat_at=robot.last_heartbeat_at,
        type=robot.robot_type,
        active=robot.is_active,
        folder_guid=folder_guid,
        groups=groups,
    )


class RobotSummary(NamedTuple):
    """A robot as a table shows it: no secrets, no licence, the names of its groups."""

    guid: str
    name: str
    description: str
    status: int
    type: str
    active: bool
    machine: str
    last_heartbeat_at: datetime | None
    folder_guid: str | None
    groups: tuple[str, ...]


def robot_summaries(runtime: Runtime, caller: Caller) -> list[RobotSummary]:
    """Every robot of the caller, for a table of thousands: the columns it shows, read as
    plain rows (no ORM objects), with folders and groups in one statement each."""
    caller.require_all(Screen.ROBOT, Action.READ)
    with runtime.db.read() as session:
        rows = session.execute(
            scoped(RobotRow, caller)
            .with_only_columns(
                RobotRow.id,
                RobotRow.guid,
                RobotRow.name,
                RobotRow.description,
                RobotRow.status,
                RobotRow.robot_type,
                RobotRow.is_active,
                RobotRow.machine,
                RobotRow.last_heartbeat_at,
                AccessFolderRow.guid,
            )
            .outerjoin_from(RobotRow, AccessFolderRow, AccessFolderRow.id == RobotRow.folder_id)
            .order_by(RobotRow.id)
        ).all()
        groups: dict[int, list[str]] = {}
        members = session.execute(
            select(RobotGroupMemberRow.robot_id, RobotGroupRow.name)
            .join(RobotGroupRow, RobotGroupMemberRow.group_id == RobotGroupRow.id)
            .where(
                RobotGroupRow.account_id == caller.account_id,
                RobotGroupRow.is_deleted.is_(False),
            )
            .order_by(RobotGroupRow.name)
        )
        for robot_id, group in members:
            groups.setdefault(robot_id, []).append(group)
    return [
        RobotSummary(
            guid, name, text, status, kind, active, machine, seen, folder, tuple(groups.get(id, ()))
        )
        for id, guid, name, text, status, kind, active, machine, seen, folder in rows
    ]


def robot_status_counts(session: Session, caller: Caller) -> dict[str, int]:
    """The caller's robots per status label (every status, zeros included)."""
    counts = {status.label: 0 for status in RobotStatus}
    query = (
        scoped(RobotRow, caller)
        .with_only_columns(RobotRow.status, func.count())
        .group_by(RobotRow.status)
    )
    for status, count in session.execute(query):
        counts[RobotStatus(status).label] = count
    return counts


def robots_by_status(runtime: Runtime, caller: Caller) -> dict[str, int]:
    """How many of the caller's robots are in each status (a live page's cheap probe)."""
    caller.require(Screen.ROBOT, Action.READ)
    with runtime.db.read() as session:
        return robot_status_counts(session, caller)


def robot_pulse(runtime: Runtime, caller: Caller) -> Hashable:
    """What a live robots page shows that changes on its own: each robot's status, last
    contact and last edit, in one narrow statement (a live page's probe, once a second)."""
    caller.require(Screen.ROBOT, Action.READ)
    with runtime.db.read() as session:
        rows = session.execute(
            scoped(RobotRow, caller)
            .with_only_columns(
                RobotRow.id, RobotRow.status, RobotRow.last_heartbeat_at, RobotRow.updated_at
            )
            .order_by(RobotRow.id)
        )
        pulse: tuple[tuple[int, int, datetime | None, datetime | None], ...] = tuple(rows)
        return pulse


def update_robot(runtime: Runtime, caller: Caller, data: RobotUpdate) -> None:
    caller.require(Screen.ROBOT, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        robot = find_robot(session, caller, data.guid, field="Guid", for_update=True)
        if data.status is not None:
            set_robot_status(robot, RobotStatus(data.status))
        for name in ("name", "description", "machine"):
            value = getattr(data, name)
            if value is not None:
                setattr(robot, name, value)
        if data.type is not None:
            robot.robot_type = data.type
        if data.active is not None:
            robot.is_active = data.active
        if "folder" in data.model_fields_set:
            robot.folder_id = folder_id_for(session, caller, data.folder)


def set_robot_status(robot: RobotRow, status: RobotStatus) -> None:
    """The one place a robot's status changes; any status may follow any other."""
    robot.status = int(status)


def get_status(runtime: Runtime, caller: Caller, ref: int | str) -> RobotStatusRead:
    caller.require(Screen.ROBOT, Action.READ)
    with runtime.db.read() as session:
        return RobotStatusRead(status=find_robot(session, caller, ref).status)


def set_status(runtime: Runtime, caller: Caller, data: RobotSetStatus) -> None:
    caller.require(Screen.ROBOT, Action.UPDATE)
    status = RobotStatus(data.status)
    with runtime.db.write(actor=caller.actor()) as session:
        robot = find_robot(session, caller, data.guid, field="Guid", for_update=True)
        set_robot_status(robot, status)
        if status is not RobotStatus.DISCONNECTED:
            # A status reported (the Sherpa framework's robots report their own) is a sign of
            # life: the silent-robot timeout counts from here, not from the last heartbeat.
            robot.last_heartbeat_at = utcnow()


def delete_robot(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.ROBOT, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        robot = find_robot(session, caller, ref, for_update=True)
        held = claims.jobs_held_by(session, robot.id)
        if held:
            raise Conflict(
                f"robot '{robot.name}' holds job {held[0].guid}; stop it first", code="robot_busy"
            )
        robot.is_deleted = True
        session.execute(delete(RobotGroupMemberRow).where(RobotGroupMemberRow.robot_id == robot.id))
