"""Robots and robot groups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.contract import RobotStatus
from robofleet.server.db.base import (
    Base,
    FolderScoped,
    IdType,
    SoftDelete,
    TenantEntity,
    live_unique,
)


class RobotRow(TenantEntity, SoftDelete, FolderScoped):
    __tablename__ = "robots"
    __audit_entity__ = "robot"

    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    robot_type: Mapped[str] = mapped_column(String(16), default="Unattended")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Heartbeat-driven columns change many times a minute; the audit log skips them.
    status: Mapped[int] = mapped_column(
        Integer, default=int(RobotStatus.DISCONNECTED), info={"audit": False}
    )
    machine: Mapped[str] = mapped_column(String(256), default="", info={"audit": False})
    ip: Mapped[str] = mapped_column(String(64), default="", info={"audit": False})
    mac: Mapped[str] = mapped_column(String(64), default="", info={"audit": False})
    agent_version: Mapped[str] = mapped_column(String(64), default="", info={"audit": False})
    license_string: Mapped[str] = mapped_column(String(256), default="")
    license_expiration: Mapped[datetime | None] = mapped_column(nullable=True)
    # SHA-256 of the robot's secret (runtime.security.hash_robot_secret); None: never issued.
    secret_hash: Mapped[str | None] = mapped_column(
        String(64), nullable=True, default=None, info={"secret": True}
    )
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True, info={"audit": False})


class RobotGroupRow(TenantEntity, SoftDelete, FolderScoped):
    __tablename__ = "robot_groups"
    __audit_entity__ = "robot_group"
    __table_args__ = (live_unique("uq_robot_groups_name_live", "account_id", "name"),)

    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")


class RobotGroupMemberRow(Base):
    __tablename__ = "robot_group_members"

    group_id: Mapped[int] = mapped_column(IdType, ForeignKey("robot_groups.id"), primary_key=True)
    robot_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("robots.id"), primary_key=True, index=True
    )
