"""Robot messages (Sherpa's Log)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    computed_field,
    field_validator,
    model_validator,
)

from robofleet.contract import LogLevel, normalize_level
from robofleet.server.domain.values import INT64_MAX
from robofleet.server.schemas.base import InputTime, JsonObject, Ref, SherpaModel, SherpaTime

_NAMES = ", ".join(LogLevel)


def level_name(value: Any) -> Any:
    """A level by name, alias or Sherpa's number (the API example's `Level: 1` is Info);
    the server refuses unknown levels."""
    level = normalize_level(value)
    if level is not None:
        return level.value
    if isinstance(value, int | str):
        raise ValueError(f"must be one of {_NAMES} (or 1..{len(LogLevel)})")
    return value  # not a level at all: the field's type refuses it


class LogLine(SherpaModel):
    robot_guid: str | None = None
    process_version_guid: str | None = None
    job_guid: str | None = None
    level: str = Field(LogLevel.INFO.value, description=f"{_NAMES} (or 1..{len(LogLevel)}).")
    message: str = Field(max_length=100_000)
    fields: JsonObject = Field(default_factory=dict)
    time: InputTime = Field(None, description="When the line was written; default now.")
    screenshot: str | None = Field(
        None,
        description=(
            "An image (PNG, JPEG, GIF, WebP or BMP), base64-encoded; a `data:` URL is "
            "accepted too. Read back at the line's `screenshot_url`."
        ),
    )

    _level = field_validator("level", mode="before")(level_name)


class LogCreate(SherpaModel):
    """One line (the fields of LogLine) or many (`Lines`)."""

    robot_guid: str | None = None
    process_version_guid: str | None = None
    job_guid: str | None = None
    level: str = LogLevel.INFO.value
    message: str | None = Field(None, max_length=100_000, examples=["Invoice 42 posted"])
    fields: JsonObject = Field(default_factory=dict)
    time: InputTime = None
    screenshot: str | None = Field(None, description="A base64 image (see Lines' Screenshot).")
    lines: list[LogLine] | None = Field(None, max_length=1000)

    _level = field_validator("level", mode="before")(level_name)

    @model_validator(mode="after")
    def _one_or_many(self) -> LogCreate:
        if self.lines is None and self.message is None:
            raise ValueError("send Message (one line) or Lines (many)")
        return self

    def all_lines(self) -> list[LogLine]:
        """The lines to store. With `Lines`, the body's RobotGUID, JobGUID and
        ProcessVersionGUID are the defaults of lines that do not name their own."""
        if self.lines is not None:
            return [
                line.model_copy(
                    update={
                        "robot_guid": line.robot_guid or self.robot_guid,
                        "job_guid": line.job_guid or self.job_guid,
                        "process_version_guid": line.process_version_guid
                        or self.process_version_guid,
                    }
                )
                for line in self.lines
            ]
        return [
            LogLine(
                robot_guid=self.robot_guid,
                process_version_guid=self.process_version_guid,
                job_guid=self.job_guid,
                level=self.level,
                message=self.message or "",
                fields=self.fields,
                time=self.time,
                screenshot=self.screenshot,
            )
        ]


class LogFilter(SherpaModel):
    job: Ref | None = Field(None, description="Job id or GUID.")
    job_guid: Ref | None = Field(None, description="Job id or GUID (Job's other spelling).")
    robot: Ref | None = Field(None, description="Robot id, GUID or name.")
    process: Ref | None = Field(None, description="Process id, GUID or name (any version).")
    level: str | None = Field(None, description="Only this level.")
    min_level: str | None = Field(
        None, description="This level or a more severe one (Debug < Info < Notice < ... )."
    )
    search: str | None = Field(
        None, max_length=1000, description="Text the message contains (case-insensitive)."
    )
    since: InputTime = None
    until: InputTime = None
    cursor: str | None = Field(
        None,
        max_length=200,
        description="Where the previous page ended: its `X-Next-Cursor` header, as given.",
    )
    after_id: int | None = Field(
        None, ge=0, le=INT64_MAX, description="Only lines with a larger id (tailing)."
    )
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)

    _level = field_validator("level", "min_level", mode="before")(level_name)


class LogPurge(SherpaModel):
    time: InputTime = Field(description="Delete this account's lines created before it.")

    @field_validator("time", mode="after")
    @classmethod
    def _given(cls, value: datetime | None) -> datetime:
        if value is None:
            raise ValueError("is required: the time before which lines are deleted")
        return value


def level_code(name: str) -> int:
    """Sherpa's number for a stored level name: its read example shows `"Level": 1`."""
    return LogLevel(name).code


class LogRead(BaseModel):
    """Sherpa's log row, whose `Level` and `Message` keys are capitalised. `Level` is
    Sherpa's number (1 Info ... 6 Notice); `level_name` is the same level by name."""

    model_config = ConfigDict(serialize_by_alias=True, from_attributes=True)

    id: int
    guid: str
    account_id: int
    robot_id: int | None
    process_version_id: int | None
    job_id: int | None
    level: Annotated[str, PlainSerializer(level_code, return_type=int)] = Field(
        serialization_alias="Level", description="1 Info, 2 Critical, 3 Error, 4 Warning, ..."
    )
    message: str = Field(serialization_alias="Message")
    fields: dict[str, Any]
    screenshot_type: str | None = Field(None, description="The screenshot's media type.")
    created_at: SherpaTime
    updated_at: SherpaTime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def level_name(self) -> str:
        return self.level

    @computed_field  # type: ignore[prop-decorator]
    @property
    def screenshot_url(self) -> str | None:
        """Where the line's screenshot is served, if it has one."""
        return f"/api/log/screenshot/{self.guid}" if self.screenshot_type else None


class LogTail(SherpaModel):
    """Which lines a live tail sends: the list's filters, and how long to stay open."""

    job: Ref | None = Field(None, description="Job id or GUID; all the account's lines if empty.")
    robot: Ref | None = Field(None, description="Robot id, GUID or name.")
    process: Ref | None = Field(None, description="Process id, GUID or name.")
    min_level: str | None = Field(None, description="This level or a more severe one.")
    search: str | None = Field(None, max_length=1000, description="Text the message contains.")
    after_id: int | None = Field(
        None,
        ge=0,
        le=INT64_MAX,
        description="Start after this line id (as `Last-Event-ID`); default: only new lines.",
    )
    timeout: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="Seconds the stream stays open; the client reconnects with Last-Event-ID.",
    )

    _level = field_validator("min_level", mode="before")(level_name)


class LogCreated(BaseModel):
    """One line: `{"guid"}`, what Sherpa's framework reads (its page shows `[]`, a body no
    client reads). Many lines (`Lines`): `{"count"}`."""

    guid: str | None = None
    count: int | None = None
