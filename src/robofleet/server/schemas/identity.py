"""Accounts, users, roles, access folders, API keys and the audit trail."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, computed_field, field_validator

from robofleet.server.domain.permissions import Screen, parse_rights
from robofleet.server.domain.values import INT64_MAX
from robofleet.server.schemas.base import (
    Flag,
    InputTime,
    JsonObject,
    Ref,
    RowModel,
    SherpaModel,
    SherpaTime,
    split_refs,
)

_BARE_GUID_HELP = (
    "Refuse a robot's bare GUID as its credential (401): its robots must send their secret "
    "too. Off by default, so Sherpa robots that know only their GUID keep working."
)


class AccountCreate(SherpaModel):
    login: str = Field(min_length=1, max_length=128, examples=["finance"])
    password: str = Field(min_length=8, max_length=256, examples=["correct horse battery"])
    first_name: str = Field("", max_length=128)
    last_name: str = Field("", max_length=128)
    email: str = Field("", max_length=256)
    phone: str = Field("", max_length=64)
    company: str = Field("", max_length=256)
    department: str = Field("", max_length=256)
    time_zone: str = Field("UTC", max_length=64)
    language: str = Field("en", max_length=8)
    can_create_accounts: Flag = False
    require_robot_secret: Flag = Field(False, description=_BARE_GUID_HELP)


class AccountUpdate(SherpaModel):
    guid: Ref
    login: str | None = Field(None, min_length=1, max_length=128)
    password: str | None = Field(None, min_length=8, max_length=256)
    first_name: str | None = Field(None, max_length=128)
    last_name: str | None = Field(None, max_length=128)
    email: str | None = Field(None, max_length=256)
    phone: str | None = Field(None, max_length=64)
    company: str | None = Field(None, max_length=256)
    department: str | None = Field(None, max_length=256)
    time_zone: str | None = Field(None, max_length=64)
    language: str | None = Field(None, max_length=8)
    can_create_accounts: Flag | None = None
    require_robot_secret: Flag | None = Field(
        None,
        description=_BARE_GUID_HELP + " An account's administrator may change this "
        "setting of its own account.",
    )


class AccountCreated(BaseModel):
    guid: str
    api_key: str = Field(description="The account's API key. Shown only in this response.")
    admin_login: str


class AccountRead(RowModel):
    id: int
    guid: str
    login: str
    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    department: str
    time_zone: str
    language: str
    can_create_accounts: bool
    require_robot_secret: bool
    is_deleted: bool
    created_at: SherpaTime
    updated_at: SherpaTime

    # Sherpa's account/read example spells these two keys with a space; its `password` is
    # never returned (docs/decisions.md).
    @computed_field(alias="first name")  # type: ignore[prop-decorator]
    @property
    def first_name_sherpa(self) -> str:
        return self.first_name

    @computed_field(alias="last name")  # type: ignore[prop-decorator]
    @property
    def last_name_sherpa(self) -> str:
        return self.last_name


class UserCreate(SherpaModel):
    login: str = Field(min_length=1, max_length=256, examples=["ann@example.com"])
    password: str = Field(min_length=8, max_length=256)
    first_name: str = Field("", max_length=128)
    last_name: str = Field("", max_length=128)
    email: str = Field("", max_length=256)
    department: str = Field("", max_length=256)
    roles: list[Ref] = Field(default_factory=list, examples=[["Operators"]])
    is_blocked: Flag = False

    _roles = field_validator("roles", mode="before")(split_refs)


class UserUpdate(SherpaModel):
    guid: Ref
    login: str | None = Field(None, min_length=1, max_length=256)
    password: str | None = Field(None, min_length=8, max_length=256)
    first_name: str | None = Field(None, max_length=128)
    last_name: str | None = Field(None, max_length=128)
    email: str | None = Field(None, max_length=256)
    department: str | None = Field(None, max_length=256)
    roles: list[Ref] | None = None
    is_blocked: Flag | None = None

    _roles = field_validator("roles", mode="before")(split_refs)


class UserRead(RowModel):
    id: int
    guid: str
    account_id: int
    login: str
    first_name: str
    last_name: str
    email: str
    department: str
    is_blocked: bool
    roles: list[str]
    last_login_at: SherpaTime
    created_at: SherpaTime
    updated_at: SherpaTime


def _rights_table(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    table: dict[str, str] = {}
    for screen, rights in value.items():
        key = str(screen).strip().lower().replace(" ", "_")
        key = {"robot_groups": "robot_group", "api": "api_key", "folder": "access_folder"}.get(
            key, key
        )
        try:
            Screen(key)
        except ValueError:
            names = ", ".join(s.value for s in Screen)
            raise ValueError(f"unknown screen '{screen}'; screens are: {names}") from None
        if isinstance(rights, list):
            rights = "".join(str(r)[:1] for r in rights)
        parse_rights(str(rights))
        table[key] = str(rights).lower()
    return table


class RoleCreate(SherpaModel):
    name: str = Field(min_length=1, max_length=128, examples=["Operators"])
    description: str = ""
    permissions: JsonObject = Field(
        default_factory=dict,
        description='Rights per screen as letters from \'crud\', e.g. {"job": "cru"}.',
        examples=[{"robot": "r", "job": "cru", "queue": "r", "task": "crud"}],
    )
    all_folders: Flag = False
    folders: list[Ref] = Field(default_factory=list)

    _perm = field_validator("permissions", mode="after")(_rights_table)
    _folders = field_validator("folders", mode="before")(split_refs)


class RoleUpdate(SherpaModel):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = None
    permissions: JsonObject | None = None
    all_folders: Flag | None = None
    folders: list[Ref] | None = None

    _perm = field_validator("permissions", mode="after")(_rights_table)
    _folders = field_validator("folders", mode="before")(split_refs)


class RoleRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    permissions: dict[str, str]
    all_folders: bool
    is_administrator: bool
    folders: list[str]
    created_at: SherpaTime
    updated_at: SherpaTime


class FolderCreate(SherpaModel):
    name: str = Field(min_length=1, max_length=128, examples=["Finance"])
    description: str = ""


class FolderUpdate(SherpaModel):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = None


class FolderRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    created_at: SherpaTime
    updated_at: SherpaTime


class ApiKeyAssign(SherpaModel):
    user: Ref | None = Field(None, description="Whose key: a user; omitted = the account's key.")
    key: str | None = Field(
        None, description="Optional UUID to use as the new key (when moving from another server)."
    )


class ApiKeyRefresh(SherpaModel):
    user: Ref | None = Field(None, description="Whose key: a user; omitted = the account's key.")


class ApiKeyIssued(BaseModel):
    key: str = Field(description="The new key. Shown only in this response; store it now.")
    hint: str
    scope: str
    guid: str


class ApiKeyRead(RowModel):
    guid: str
    scope: str
    user_guid: str | None
    hint: str
    created_at: SherpaTime


class LoginRequest(SherpaModel):
    login: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class AuditFilter(SherpaModel):
    object_guid: str | None = None
    object_type: str | None = None
    action: str | None = None
    actor: str | None = Field(None, description="Actor GUID or name.")
    since: InputTime = None
    until: InputTime = None
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)


class AuditRead(RowModel):
    id: int
    guid: str
    at: SherpaTime
    actor_kind: str
    actor_guid: str | None
    actor_name: str
    address: str
    user_agent: str
    action: str
    object_type: str
    object_guid: str | None
    changes: dict[str, Any]
    message: str
