"""Resources (Sherpa's assets) and resource groups."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from robofleet.server.domain.values import INT64_MAX
from robofleet.server.schemas.base import (
    FolderRef,
    InputTime,
    Ref,
    RowModel,
    SherpaModel,
    SherpaTime,
)
from robofleet.server.schemas.sherpa_values import Bit

TEXT_LIMIT = 10_000
"""Sherpa's limit on a text resource; logins share it."""
CALENDAR_TEXT_LIMIT = 1_000_000
"""A calendar's JSON lists dates, decades of them in a long-lived calendar."""
PASSWORD_LIMIT = 4_096

ResourceType = Annotated[int, Field(ge=1, le=3, description="1 Credentials, 2 Text, 3 Calendar.")]
RobotType = Annotated[
    int,
    Field(
        ge=1,
        le=3,
        description="Scope: 3 all robots, 2 one robot group (RobotGroupId), 1 one robot "
        "(RobotId). Omitted: 1 with a robot, 2 with a group, else 3.",
    ),
]
OptionalRef = Ref | None

ROBOT_REF = AliasChoices("RobotId", "robot_id", "robot_guid", "robot")
ROBOT_GROUP_REF = AliasChoices("RobotGroupId", "robot_group_id", "robot_group_guid", "robot_group")
RESOURCE_GROUP_REF = AliasChoices(
    "ResourceGroup", "resource_group", "resource_group_id", "resource_group_guid", "group"
)
_TEXT_HELP = (
    "Credentials: the login; Text: the value (at most 10,000 characters); Calendar: the "
    "calendar's JSON (docs/decisions.md)."
)
_LOGIN_HELP = (
    "Credentials only. Encrypted at rest; empty or omitted on update keeps the stored one."
)


class ResourceCreate(SherpaModel):
    name: str = Field(min_length=1, max_length=256, examples=["ErpLogin"])
    description: str = Field("", max_length=TEXT_LIMIT)
    type: ResourceType = 2
    text: str = Field("", max_length=CALENDAR_TEXT_LIMIT, description=_TEXT_HELP)
    password: str | None = Field(None, max_length=PASSWORD_LIMIT, description=_LOGIN_HELP)
    password_expiration: InputTime = None
    robot_type: RobotType | None = None
    robot: OptionalRef = Field(None, validation_alias=ROBOT_REF, description="Robot (scope 1).")
    robot_group: OptionalRef = Field(
        None, validation_alias=ROBOT_GROUP_REF, description="Robot group (scope 2)."
    )
    resource_group: OptionalRef = Field(
        None, validation_alias=RESOURCE_GROUP_REF, description="Resource group."
    )
    folder: FolderRef = None


class ResourceUpdate(SherpaModel):
    guid: OptionalRef = Field(
        None,
        description="The resource by id, GUID or name (a robot gets the one its scope "
        "resolves). Omitted: `Name` names it, as Sherpa's framework may send.",
    )
    name: str | None = Field(None, min_length=1, max_length=256)
    description: str | None = Field(None, max_length=TEXT_LIMIT)
    type: ResourceType | None = Field(None, description="Must stay the resource's type.")
    text: str | None = Field(None, max_length=CALENDAR_TEXT_LIMIT, description=_TEXT_HELP)
    password: str | None = Field(None, max_length=PASSWORD_LIMIT, description=_LOGIN_HELP)
    password_expiration: InputTime = None
    robot_type: RobotType | None = None
    robot: OptionalRef = Field(None, validation_alias=ROBOT_REF)
    robot_group: OptionalRef = Field(None, validation_alias=ROBOT_GROUP_REF)
    resource_group: OptionalRef = Field(None, validation_alias=RESOURCE_GROUP_REF)
    folder: FolderRef = None


class ResourceFilter(SherpaModel):
    type: ResourceType | None = None
    name: str | None = Field(None, min_length=1, max_length=256, description="Exact name.")
    resource_group: OptionalRef = Field(None, validation_alias=RESOURCE_GROUP_REF)
    robot_type: RobotType | None = Field(None, description="Only resources of this scope.")
    robot: OptionalRef = Field(None, validation_alias=ROBOT_REF)
    robot_group: OptionalRef = Field(None, validation_alias=ROBOT_GROUP_REF)
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)


class ResourceRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    type: int
    type_name: str
    text: str
    password: str | None = Field(
        description="In clear for a robot in scope or a user with the Resource update "
        "right; `********` for anyone else; null when none is set."
    )
    password_expiration: SherpaTime
    robot_type: int
    robot_id: int | None
    robot_guid: str | None
    robot_group_id: int | None
    robot_group_guid: str | None
    resource_group_id: int | None
    resource_group_guid: str | None
    folder_id: int | None
    is_deleted: Bit
    created_at: SherpaTime
    updated_at: SherpaTime


class CalendarImport(SherpaModel):
    guid: Ref = Field(description="The calendar resource (Type 3) by id, GUID or name.")
    content: str = Field(max_length=CALENDAR_TEXT_LIMIT, description="The JSON or .ics text.")
    format: Literal["json", "ics"] | None = Field(
        None, description="Omitted: .ics if the text starts with BEGIN:VCALENDAR, else JSON."
    )


class CalendarDocument(RowModel):
    weekend: list[int] = Field(description="ISO weekdays off every week (6, 7: Sat, Sun).")
    working: list[str]
    non_working: list[str]
    holidays: list[str]


class ResourceGroupCreate(SherpaModel):
    name: str = Field(min_length=1, max_length=256, examples=["ERP"])
    description: str = Field("", max_length=TEXT_LIMIT)
    folder: FolderRef = None


class ResourceGroupUpdate(SherpaModel):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=256)
    description: str | None = Field(None, max_length=TEXT_LIMIT)
    folder: FolderRef = None


class ResourceGroupRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    folder_id: int | None
    is_deleted: Bit
    created_at: SherpaTime
    updated_at: SherpaTime
