"""Jobs."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, Field, field_validator

from robofleet.contract import JobStatus
from robofleet.server.domain.values import INT64_MAX
from robofleet.server.schemas.base import (
    InputTime,
    JsonObject,
    LenientJson,
    Ref,
    RowModel,
    SherpaModel,
    SherpaTime,
    priority_value,
)
from robofleet.server.schemas.sherpa_values import Bit, SherpaDocumented


def _statuses(value: Any) -> Any:
    """`1,8`, `1;8`, repeated `Status=1&Status=8`, or a JSON list."""
    items = value if isinstance(value, list) else [value]
    statuses: list[Any] = []
    for item in items:
        if isinstance(item, str):
            statuses.extend(p.strip() for p in item.replace(";", ",").split(",") if p.strip())
        else:
            statuses.append(item)
    return statuses


class JobCreate(SherpaDocumented):
    # Sherpa's job/create page lists `Guid` ("GUID of the job"); the server gives every job
    # its GUID, so a Guid sent here is ignored (docs/decisions.md).
    sherpa_ignored: ClassVar[frozenset[str]] = frozenset({"guid"})

    process: Ref = Field(
        validation_alias=AliasChoices("Process", "process", "process_guid", "process_id"),
        examples=["Invoices"],
    )
    robot: Ref | None = Field(
        None,
        validation_alias=AliasChoices("Robot", "robot", "robot_guid", "robot_id"),
        description="Run on this robot. Omit Robot and RobotGroup to let any robot take it.",
    )
    robot_group: Ref | None = Field(
        None,
        validation_alias=AliasChoices(
            "RobotGroup", "robot_group", "robot_group_guid", "robot_group_id"
        ),
        description="The first free robot of this group takes the job.",
    )
    task: Ref | None = Field(
        None,
        validation_alias=AliasChoices("Task", "task", "task_guid", "task_id"),
        description="Default task whose parameters the job reads.",
    )
    priority: int = Field(2, ge=1, le=3, description="1 Low, 2 Normal, 3 High.")
    stop_after: InputTime = None
    abort_after: InputTime = None
    parameters: JsonObject = Field(default_factory=dict, examples=[{"month": "2026-10"}])
    source: str = Field("API", pattern="^(GUI|Trigger|API)$")

    _priority = field_validator("priority", mode="before")(priority_value)


class JobUpdate(SherpaModel):
    guid: Ref
    status: int | None = Field(None, ge=min(JobStatus), le=max(JobStatus))
    progress: int | None = Field(None, ge=0, le=100)
    return_value: LenientJson = None
    message: str | None = Field(None, max_length=10_000)
    priority: int | None = Field(None, ge=1, le=3)
    stop_after: InputTime = None
    abort_after: InputTime = None

    _priority = field_validator("priority", mode="before")(priority_value)


class JobRef(SherpaModel):
    guid: Ref


class JobFilter(SherpaModel):
    status: list[Annotated[int, Field(ge=min(JobStatus), le=max(JobStatus))]] | None = Field(
        None, description="Statuses, e.g. `1,8`."
    )
    robot: Ref | None = None
    process: Ref | None = None
    source: str | None = Field(None, pattern="^(GUI|Trigger|API)$")
    since: InputTime = None
    until: InputTime = None
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)

    _status = field_validator("status", mode="before")(_statuses)


class JobRead(RowModel):
    id: int
    guid: str
    account_id: int
    process_id: int
    process_guid: str
    process_name: str
    process_version_id: int
    process_version_guid: str
    robot_id: int | None
    robot_guid: str | None
    robot_name: str | None
    robot_group_id: int | None
    robot_group_guid: str | None
    task_id: int | None
    schedule_id: int | None
    status: int
    status_name: str
    source: str
    priority: int
    job_type: int
    parameters: dict[str, Any]
    progress: int
    return_value: Any
    last_message: str
    stop_after: SherpaTime
    abort_after: SherpaTime
    created_at: SherpaTime
    started_at: SherpaTime
    completed_at: SherpaTime
    updated_at: SherpaTime
    is_deleted: Bit
