"""What a robot's own objects are: the rows a robot's credentials reach on the screens its
permissions confine to its own (domain.permissions.ROBOT_PERMISSIONS.own_only).

A robot's GUID is a credential, so a robot must not learn other robots' GUIDs, take their jobs
or fetch their packages. Objects outside its scope are invisible to it: lookups answer 404, as
for another account's objects, so it learns nothing about what exists.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select

from robofleet.server.db.tables import (
    JobRow,
    LogRow,
    ProcessVersionRow,
    ResourceRow,
    RobotGroupMemberRow,
    RobotRow,
)


def own_jobs(robot_id: int) -> ColumnElement[bool]:
    """Jobs the robot runs or ran, or that were created for it: `robot_id` names it."""
    return JobRow.robot_id == robot_id


def own_rows(model: type, robot_id: int) -> ColumnElement[bool] | None:
    """The condition confining `model`'s rows to the robot's own; None if not confined."""
    if model is RobotRow:
        return RobotRow.id == robot_id
    if model is JobRow:
        return own_jobs(robot_id)
    if model is ProcessVersionRow:
        # The packages of its own jobs, and no other.
        versions = select(JobRow.process_version_id).where(own_jobs(robot_id))
        return ProcessVersionRow.id.in_(versions.scalar_subquery())
    if model is LogRow:
        jobs = select(JobRow.id).where(own_jobs(robot_id))
        return or_(LogRow.robot_id == robot_id, LogRow.job_id.in_(jobs.scalar_subquery()))
    if model is ResourceRow:
        return resources_in_scope(robot_id)
    return None


def resources_in_scope(robot_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """Resources a robot is entitled to: all robots' (RobotType 3), its groups' (2), its
    own (1). Others are invisible to it (404), by name, id and GUID alike."""
    groups = select(RobotGroupMemberRow.group_id).where(RobotGroupMemberRow.robot_id == robot_id)
    return or_(
        ResourceRow.robot_type == 3,
        and_(ResourceRow.robot_type == 2, ResourceRow.robot_group_id.in_(groups.scalar_subquery())),
        and_(ResourceRow.robot_type == 1, ResourceRow.robot_id == robot_id),
    )
