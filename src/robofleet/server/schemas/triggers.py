"""Triggers (Sherpa's "schedules"): create, update, read, list, preview, history, test.

Sherpa's fields first (Name, Status, ProcessingType, CronTab, RobotType, RobotId,
RobotGroupId, StartAt, EndAt, MaxRuns, MaxRunningRobots, CheckMissedTrigger, ProcessId);
Robofleet's extras beside them. In a request a field left out is "not given": create fills
the default, update keeps what is stored; null clears an optional one on update."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, Field, field_validator

from robofleet.contract import TriggerStatus
from robofleet.server.domain.values import INT64_MAX
from robofleet.server.schemas.base import (
    Flag,
    FolderRef,
    InputTime,
    JsonObject,
    Ref,
    RowModel,
    SherpaModel,
    SherpaTime,
    priority_value,
)
from robofleet.server.schemas.sherpa_values import Bit
from robofleet.server.schemas.trigger_conditions import (
    NAME_LIMIT,
    ClockTime,
    Duration,
    MailCondition,
    QueueCondition,
)

TEXT_LIMIT = 10_000
RUN_LIMIT = 1_000_000_000


def _object_text(value: Any) -> Any:
    """A nested object may come as JSON text (forms); empty text means none."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    return value


OptionalRef = Ref | None
"""An empty reference is refused as everywhere (422); null clears one on update."""
ScheduleKindName = Literal["continuous", "cron", "last_day", "nth_day"]
WhenBusy = Literal["skip", "any_free", "fewest_pending"]

# The first spelling is the one OpenAPI shows; requests are folded to snake_case first
# (schemas.base.SherpaModel), so the snake_case ones are those matched.
PROCESS_REF = AliasChoices("ProcessId", "process_id", "process_guid", "process")
ROBOT_REF = AliasChoices("RobotId", "robot_id", "robot_guid", "robot")
ROBOT_GROUP_REF = AliasChoices("RobotGroupId", "robot_group_id", "robot_group_guid", "robot_group")
CALENDAR_REF = AliasChoices("CalendarId", "calendar_id", "calendar_guid", "calendar")
QUEUE_REF = AliasChoices("QueueId", "queue_id", "queue_guid", "queue")
CHECK_MISSED = AliasChoices("CheckMissedTrigger", "check_missed_trigger", "check_missed")
SKIP_NON_WORKING = AliasChoices("SkipNonWorkingDays", "skip_non_working_days", "skip_non_working")

_ROBOT_TYPE_HELP = (
    "0 or 1 or 2: Sherpa's pages give two readings (0 one robot / 1 group, and 1 robot / "
    "2 group). The target given decides: RobotId makes a one-robot trigger, RobotGroupId a "
    "group trigger; RobotType must not contradict it under both readings (0 with a group is "
    "refused). Read back as 1 one robot, 2 group (docs/decisions.md)."
)


class TriggerFields(SherpaModel):
    """Every field a create or an update may carry, all optional here."""

    description: str | None = Field(None, max_length=TEXT_LIMIT)
    status: int | None = Field(
        None, ge=0, le=1, description="1 enabled, 0 disabled (2 Completed is set by the server)."
    )
    processing_type: int | None = Field(
        None,
        ge=1,
        le=2,
        description="1 continuous, 2 by schedule. Omitted: from ScheduleKind, else 2 with a "
        "CronTab, else 1 with a queue or e-mail condition.",
    )
    cron_tab: str | None = Field(
        None,
        max_length=NAME_LIMIT,
        description="For ProcessingType 2: 5 fields (minute first) or 6 (seconds first), "
        "read in TimeZone.",
        examples=["0 9 * * 1-5"],
    )
    robot_type: int | None = Field(None, ge=0, le=2, description=_ROBOT_TYPE_HELP)
    robot: OptionalRef = Field(None, validation_alias=ROBOT_REF, description="One robot.")
    robot_group: OptionalRef = Field(
        None, validation_alias=ROBOT_GROUP_REF, description="A robot group."
    )
    start_at: InputTime = Field(None, description="Valid from (UTC).")
    end_at: InputTime = Field(None, description="Valid to (UTC).")
    max_runs: int | None = Field(None, ge=0, le=RUN_LIMIT, description="0: no limit.")
    max_running_robots: int | None = Field(
        None,
        ge=0,
        le=RUN_LIMIT,
        description="0: no cap; counts the trigger's jobs In Progress, Pending and Unknown.",
    )
    check_missed_trigger: Flag | None = Field(
        None,
        validation_alias=CHECK_MISSED,
        description="After downtime fire once for what was missed (else skip to the next).",
    )
    priority: int | None = Field(None, ge=1, le=3, description="Of created jobs: 1 Low .. 3 High.")
    parameters: JsonObject | None = Field(None, description="Parameters of created jobs.")
    schedule_kind: ScheduleKindName | None = Field(
        None, description="continuous | cron | last_day | nth_day."
    )
    day_of_month: int | None = Field(
        None, ge=1, le=31, description="nth_day: the n-th (working) day of the month."
    )
    time_of_day: ClockTime = Field(None, description="last_day / nth_day: HH:MM local.")
    working_days: Flag | None = Field(
        None, description="last_day / nth_day count the calendar's working days."
    )
    skip_non_working_days: Flag | None = Field(
        None, validation_alias=SKIP_NON_WORKING, description="No fire on non-working days."
    )
    calendar: OptionalRef = Field(
        None, validation_alias=CALENDAR_REF, description="A Calendar resource (Type 3)."
    )
    time_zone: str | None = Field(
        None, min_length=1, max_length=64, examples=["Europe/Moscow"], description="IANA zone."
    )
    window_start: ClockTime = Field(None, description="Run only from HH:MM (local).")
    window_end: ClockTime = Field(None, description="... until HH:MM (may wrap midnight).")
    max_monthly_runs: int | None = Field(None, ge=0, le=RUN_LIMIT, description="0: no limit.")
    when_busy: WhenBusy | None = Field(
        None,
        description="All robots busy: skip; any_free (a job for the group's first free "
        "robot); fewest_pending (on the busy robot with the fewest pending jobs).",
    )
    stop_after: Duration = Field(None, description="Soft-stop created jobs after this.")
    abort_after: Duration = Field(None, description="Hard-abort created jobs after this.")
    queue: OptionalRef = Field(None, validation_alias=QUEUE_REF, description="Watched queue.")
    queue_condition: Annotated[QueueCondition | None, BeforeValidator(_object_text)] = None
    mail_condition: Annotated[MailCondition | None, BeforeValidator(_object_text)] = None
    folder: FolderRef = None

    _priority = field_validator("priority", mode="before")(priority_value)


class TriggerCreate(TriggerFields):
    name: str = Field(min_length=1, max_length=NAME_LIMIT, examples=["Nightly invoices"])
    process: Ref = Field(validation_alias=PROCESS_REF, description="By id, GUID or name.")


class TriggerUpdate(TriggerFields):
    guid: Ref = Field(description="The trigger by id, GUID or name.")
    name: str | None = Field(None, min_length=1, max_length=NAME_LIMIT)
    process: OptionalRef = Field(None, validation_alias=PROCESS_REF)


class TriggerSchedule(SherpaModel):
    """An unsaved schedule to preview (the schedule fields of a trigger)."""

    processing_type: int | None = Field(None, ge=1, le=2)
    schedule_kind: ScheduleKindName | None = None
    cron_tab: str | None = Field(None, max_length=NAME_LIMIT, examples=["*/15 8-18 * * 1-5"])
    day_of_month: int | None = Field(None, ge=1, le=31)
    time_of_day: ClockTime = None
    working_days: Flag | None = None
    skip_non_working_days: Flag | None = Field(None, validation_alias=SKIP_NON_WORKING)
    calendar: OptionalRef = Field(None, validation_alias=CALENDAR_REF)
    time_zone: str | None = Field(None, min_length=1, max_length=64)
    window_start: ClockTime = None
    window_end: ClockTime = None
    start_at: InputTime = None
    end_at: InputTime = None
    count: int = Field(10, ge=1, le=100)


class TriggerFilter(SherpaModel):
    name: str | None = Field(None, min_length=1, max_length=NAME_LIMIT, description="Exact name.")
    status: int | None = Field(None, ge=0, le=2)
    processing_type: int | None = Field(None, ge=1, le=2)
    schedule_kind: ScheduleKindName | None = None
    process: Ref | None = Field(None, validation_alias=PROCESS_REF)
    robot: Ref | None = Field(None, validation_alias=ROBOT_REF)
    robot_group: Ref | None = Field(None, validation_alias=ROBOT_GROUP_REF)
    queue: Ref | None = Field(None, validation_alias=QUEUE_REF)
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)


class PreviewQuery(SherpaModel):
    count: int = Field(10, ge=1, le=100, description="How many fire times.")


class HistoryQuery(SherpaModel):
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)


STATUS_NAMES = {int(status): status.label for status in TriggerStatus}


class TriggerRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    status: int
    status_name: str
    processing_type: int
    schedule_kind: str
    cron_tab: str | None
    day_of_month: int | None
    time_of_day: str | None
    working_days: Bit
    skip_non_working_days: Bit
    calendar_id: int | None
    calendar_guid: str | None
    time_zone: str
    window_start: str | None
    window_end: str | None
    start_at: SherpaTime
    end_at: SherpaTime
    check_missed_trigger: Bit
    robot_type: int = Field(description="1 one robot, 2 a robot group.")
    robot_id: int | None
    robot_guid: str | None
    robot_name: str | None
    robot_group_id: int | None
    robot_group_guid: str | None
    robot_group_name: str | None
    process_id: int
    process_guid: str
    process_name: str
    priority: int
    parameters: dict[str, Any]
    max_runs: int
    max_monthly_runs: int
    max_running_robots: int
    when_busy: str
    stop_after: str | None = Field(description="h:mm (h:mm:ss when not whole minutes).")
    stop_after_seconds: int | None
    abort_after: str | None
    abort_after_seconds: int | None
    queue_id: int | None
    queue_guid: str | None
    queue_name: str | None
    queue_condition: dict[str, Any] | None
    mail_condition: dict[str, Any] | None
    runs: int
    month_runs: int
    next_fire_at: SherpaTime
    last_fire_at: SherpaTime
    last_checked_at: SherpaTime
    folder_id: int | None
    is_deleted: Bit
    created_at: SherpaTime
    updated_at: SherpaTime


class FireTime(BaseModel):
    at: SherpaTime = Field(description="UTC.")
    local: str = Field(description="The same time in the trigger's zone, ISO 8601.")


class TriggerPreview(BaseModel):
    time_zone: str
    continuous: bool = Field(description="Continuous triggers have no fire times to list.")
    fire_times: list[FireTime]


class TriggerFireRead(RowModel):
    id: int
    reason: str = Field(description="schedule | missed | queue | mail | test | continuous.")
    outcome: str = Field(description="created | skipped.")
    detail: str
    fire_key: str
    scheduled_at: SherpaTime
    job_id: int | None
    job_guid: str | None
    created_at: SherpaTime


class TriggerTestResult(BaseModel):
    created: bool
    duplicate: bool
    detail: str
    job_id: int | None
    job_guid: str | None
