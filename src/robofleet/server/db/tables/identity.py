"""Accounts (tenants), users, roles, access folders and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.server.db.base import Base, Entity, IdType, SoftDelete, TenantEntity, live_unique


class AccountRow(Entity, SoftDelete):
    __tablename__ = "accounts"
    __audit_entity__ = "account"

    __table_args__ = (live_unique("uq_accounts_login_live", "login"),)

    login: Mapped[str] = mapped_column(String(128))
    company: Mapped[str] = mapped_column(String(256), default="")
    department: Mapped[str] = mapped_column(String(256), default="")
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str] = mapped_column(String(128), default="")
    email: Mapped[str] = mapped_column(String(256), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str] = mapped_column(String(8), default="en")
    can_create_accounts: Mapped[bool] = mapped_column(Boolean, default=False)
    # Refuse a robot's bare GUID as its credential: its secret must come with it.
    require_robot_secret: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    parent_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("accounts.id"), nullable=True)


class UserRow(TenantEntity, SoftDelete):
    __tablename__ = "users"
    __audit_entity__ = "user"
    __table_args__ = (
        # Login names are global: Roboteasy's login carries no account.
        live_unique("uq_users_login_live", "login"),
    )

    login: Mapped[str] = mapped_column(String(256))
    password_hash: Mapped[str] = mapped_column(String(256), info={"secret": True})
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str] = mapped_column(String(128), default="")
    email: Mapped[str] = mapped_column(String(256), default="")
    department: Mapped[str] = mapped_column(String(256), default="")
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(nullable=True, info={"audit": False})


class RoleRow(TenantEntity, SoftDelete):
    __tablename__ = "roles"
    __audit_entity__ = "role"
    __table_args__ = (live_unique("uq_roles_name_live", "account_id", "name"),)

    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    # {"robot": "crud", "job": "r", ...}; see domain.permissions.
    permissions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    all_folders: Mapped[bool] = mapped_column(Boolean, default=False)
    is_administrator: Mapped[bool] = mapped_column(Boolean, default=False)


class UserRoleRow(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"), primary_key=True)
    role_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("roles.id"), primary_key=True, index=True
    )


class AccessFolderRow(TenantEntity, SoftDelete):
    __tablename__ = "access_folders"
    __audit_entity__ = "access_folder"
    __table_args__ = (live_unique("uq_access_folders_name_live", "account_id", "name"),)

    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")


class RoleFolderRow(Base):
    __tablename__ = "role_folders"

    role_id: Mapped[int] = mapped_column(IdType, ForeignKey("roles.id"), primary_key=True)
    folder_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("access_folders.id"), primary_key=True, index=True
    )


class ApiKeyRow(TenantEntity):
    """An API key, stored as its SHA-256: keys are random UUIDs, so a fast hash is enough."""

    __tablename__ = "api_keys"
    __audit_entity__ = "api_key"
    __table_args__ = (Index("ix_api_keys_owner", "account_id", "user_id"),)

    user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"), nullable=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, info={"secret": True})
    key_hint: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WebSessionRow(Base):
    """A signed-in browser: the cookie carries a random token, stored here as its SHA-256.
    Held in the database so every node knows it and signing out ends it everywhere."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(IdType)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
