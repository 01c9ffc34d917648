"""Robots, robot groups and the robot protocol."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from robofleet.contract import RobotStatus
from robofleet.server.schemas.base import (
    Flag,
    FolderRef,
    Ref,
    RowModel,
    SherpaModel,
    SherpaTime,
    UnixTime,
    split_refs,
)
from robofleet.server.schemas.sherpa_values import Bit, UnixTimeOrZero

RobotTypeName = Literal["Attended", "Unattended"]


def _robot_type(value: object) -> object:
    if isinstance(value, str):
        return value.strip().capitalize()
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return ("Attended", "Unattended")[value]
    return value  # anything else (true/false included) is refused by the Literal


class RobotCreate(SherpaModel):
    name: str = Field(min_length=1, max_length=256, examples=["invoice-bot-01"])
    description: str = ""
    type: RobotTypeName = Field("Unattended", description="Attended or Unattended.")
    active: Flag = True
    machine: str = Field("", max_length=256)
    folder: FolderRef = None
    groups: list[Ref] = Field(default_factory=list, description="Robot groups to join.")

    _type = field_validator("type", mode="before")(_robot_type)
    _groups = field_validator("groups", mode="before")(split_refs)


class RobotUpdate(SherpaModel):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=256)
    description: str | None = None
    status: int | None = Field(None, ge=min(RobotStatus), le=max(RobotStatus))
    type: RobotTypeName | None = None
    active: Flag | None = None
    machine: str | None = Field(None, max_length=256)
    folder: FolderRef = None

    _type = field_validator("type", mode="before")(_robot_type)


class RobotSetStatus(SherpaModel):
    guid: Ref
    status: int = Field(
        ge=min(RobotStatus),
        le=max(RobotStatus),
        description=", ".join(f"{int(s)} {s.label}" for s in RobotStatus),
    )


class PascalModel(BaseModel):
    """Robot reads are the one Sherpa shape with PascalCase keys."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)


_ISSUED_ONCE_HELP = (
    "The robot's secret, shown only in this response (stored hashed). A robot sends it with "
    "its GUID as 'Authorization: Basic base64(<GUID>:<secret>)'."
)


class RobotCreated(PascalModel):
    name: str = Field(serialization_alias="Name")
    description: str = Field(serialization_alias="Description")
    guid: str = Field(serialization_alias="GUID")
    status: int = Field(serialization_alias="Status")
    secret: str = Field(serialization_alias="Secret", description=_ISSUED_ONCE_HELP)


class RobotSecretIssue(SherpaModel):
    guid: Ref = Field(description="The robot (id, GUID or name).")


class RobotSecret(PascalModel):
    guid: str = Field(serialization_alias="GUID")
    secret: str = Field(
        serialization_alias="Secret",
        description=_ISSUED_ONCE_HELP + " Its previous secret stops working now.",
    )


class RobotRead(PascalModel):
    id: int = Field(serialization_alias="Id")
    guid: str = Field(serialization_alias="GUID")
    name: str = Field(serialization_alias="Name")
    machine: str = Field(serialization_alias="Machine")
    status: int = Field(serialization_alias="Status")
    ip: str = Field(serialization_alias="IP")
    mac: str = Field(serialization_alias="MAC")
    description: str = Field(serialization_alias="Description")
    license_expiration: UnixTimeOrZero = Field(serialization_alias="LicenseExpiration")
    license_string: str = Field(serialization_alias="LicenseString")
    created_at: UnixTime = Field(serialization_alias="CreatedAt")
    updated_at: UnixTime = Field(serialization_alias="UpdatedAt")
    last_heartbeat_at: UnixTimeOrZero = Field(serialization_alias="LastHeartbeatAt")
    type: str = Field(serialization_alias="Type")
    active: Bit = Field(serialization_alias="Active")
    folder_guid: str | None = Field(serialization_alias="FolderGUID")
    groups: list[str] = Field(serialization_alias="Groups")


class RobotStatusRead(PascalModel):
    status: int = Field(serialization_alias="Status")


class RobotGroupCreate(SherpaModel):
    name: str = Field(min_length=1, max_length=256, examples=["Finance robots"])
    description: str = ""
    folder: FolderRef = None


class RobotGroupCreated(PascalModel):
    guid: str = Field(serialization_alias="GUID")


class RobotGroupUpdate(SherpaModel):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=256)
    description: str | None = None
    folder: FolderRef = None


class RobotGroupMembership(SherpaModel):
    robot_group_guid: Ref = Field(
        validation_alias=AliasChoices("RobotGroupGuid", "robot_group_guid", "robot_group")
    )
    robot_guid: Ref = Field(validation_alias=AliasChoices("RobotGuid", "robot_guid", "robot"))


class RobotGroupRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    folder_id: int | None
    robots: list[str]
    is_deleted: Bit
    created: SherpaTime
    updated: SherpaTime
    created_at: SherpaTime
    updated_at: SherpaTime


class HeartbeatRequest(SherpaModel):
    """Sherpa's heartbeat. Fields beyond these are ignored: robot versions differ."""

    model_config = ConfigDict(extra="ignore")

    robot_guid: str | None = None
    machine: str = Field("", max_length=256)
    ip: str = Field("", max_length=64)
    mac: str = Field("", max_length=64)
    status: int = Field(int(RobotStatus.READY), ge=min(RobotStatus), le=max(RobotStatus))
    job_guid: str | None = None
    job_name: str | None = None
    job_type: int | None = None
    version: str | None = Field(None, max_length=64, description="Agent version (Robofleet).")


class HeartbeatResponse(PascalModel):
    heartbeat_error_code: int = Field(serialization_alias="HeartbeatErrorCode")
    error_text: str = Field("", serialization_alias="ErrorText")
    has_new_job: int = Field(0, serialization_alias="HasNewJob")
    active: int = Field(1, serialization_alias="Active")
    command: str = Field("", serialization_alias="Command")


class ConsumeRequest(SherpaModel):
    model_config = ConfigDict(extra="ignore")

    robot_guid: str | None = None
    status: int | None = None


class WaitJobRequest(SherpaModel):
    model_config = ConfigDict(extra="ignore")

    robot_guid: str | None = None
    timeout: float = Field(30.0, ge=1, le=60, description="Seconds to wait for a job.")


class ConsumeResponse(PascalModel):
    consume_job_error_code: int = Field(serialization_alias="ConsumeJobErrorCode")
    error_text: str = Field("", serialization_alias="ErrorText")
    job: str = Field("", serialization_alias="Job")
    process_version: str = Field("", serialization_alias="ProcessVersion")
    task: str = Field("", serialization_alias="Task")
