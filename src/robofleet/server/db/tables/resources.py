"""Resources (Sherpa's assets): credentials, text values and calendars; their groups; and the
data keys that encrypt credential passwords."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.server.db.base import (
    Base,
    FolderScoped,
    IdType,
    SoftDelete,
    TenantEntity,
    live_unique,
    utcnow,
)


class ResourceGroupRow(TenantEntity, SoftDelete, FolderScoped):
    __tablename__ = "resource_groups"
    __audit_entity__ = "resource_group"
    __table_args__ = (live_unique("uq_resource_groups_name_live", "account_id", "name"),)

    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")


class ResourceRow(TenantEntity, SoftDelete, FolderScoped):
    __tablename__ = "resources"
    __audit_entity__ = "resource"
    # One name once per scope: `scope_key` is "all", "group:<id>" or "robot:<id>".
    __table_args__ = (
        live_unique("uq_resources_name_scope_live", "account_id", "name", "scope_key"),
    )

    name: Mapped[str] = mapped_column(String(256), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    resource_group_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("resource_groups.id"), nullable=True, index=True
    )
    type: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    # "<key id>:<base64 nonce+ciphertext>" (runtime.secret_box); never the password itself.
    password_ciphertext: Mapped[str | None] = mapped_column(
        Text, nullable=True, default=None, info={"secret": True}
    )
    password_key_id: Mapped[str | None] = mapped_column(
        String(36), nullable=True, default=None, index=True, info={"audit": False}
    )
    password_expiration: Mapped[datetime | None] = mapped_column(nullable=True)
    robot_type: Mapped[int] = mapped_column(Integer, default=3)
    robot_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("robots.id"), nullable=True, index=True
    )
    robot_group_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("robot_groups.id"), nullable=True, index=True
    )
    scope_key: Mapped[str] = mapped_column(String(64), default="all")


class DataKeyRow(Base):
    """A data key, wrapped (AES-GCM) by the master key. `state`: active (encrypts and
    decrypts; the newest active one encrypts), retiring (decrypts while a rotation moves its
    secrets away), retired (its material is erased)."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(36), unique=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(nullable=True)
