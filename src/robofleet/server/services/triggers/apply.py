"""Writing a create or an update onto a trigger row, checking every rule that spans fields.

One path for both: create starts from a row with the defaults, update from the stored row;
the request's given fields are laid over it and the whole row is then checked, so a rule
holds however the fields arrived (one request or several updates). Any refusal raises
before the transaction commits, so nothing changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from robofleet.server.db.tables import QueueRow, TriggerRow
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.schemas.trigger_conditions import (
    MailCondition,
    QueueCondition,
    default_port,
)
from robofleet.server.schemas.triggers import TriggerFields
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.folders import folder_id_for
from robofleet.server.services.access.lookup import find
from robofleet.server.services.fleet.groups import find_group
from robofleet.server.services.fleet.robots import find_robot
from robofleet.server.services.resources.scope import find_resource
from robofleet.server.services.triggers.targets import ROBOT_GROUP, robot_target
from robofleet.server.services.triggers.timing import calendar_of, checked, schedule_of

CREDENTIALS, CALENDAR = 1, 3
CONTINUOUS, BY_SCHEDULE = 1, 2

# Request field -> column, for fields copied as they are. A null for a column that cannot be
# null means "not given".
_PLAIN: dict[str, str] = {
    "description": "description",
    "status": "status",
    "max_runs": "max_runs",
    "max_running_robots": "max_running_robots",
    "check_missed_trigger": "check_missed",
    "priority": "priority",
    "parameters": "parameters",
    "working_days": "working_days",
    "skip_non_working_days": "skip_non_working",
    "time_zone": "time_zone",
    "window_start": "window_start",
    "window_end": "window_end",
    "start_at": "start_at",
    "end_at": "end_at",
    "max_monthly_runs": "max_monthly_runs",
    "when_busy": "when_busy",
    "stop_after": "stop_after_seconds",
    "abort_after": "abort_after_seconds",
    "cron_tab": "cron_tab",
    "day_of_month": "day_of_month",
    "time_of_day": "time_of_day",
}
_NULLABLE = {
    "window_start",
    "window_end",
    "start_at",
    "end_at",
    "stop_after_seconds",
    "abort_after_seconds",
    "cron_tab",
    "day_of_month",
    "time_of_day",
}
SCHEDULE_FIELDS = frozenset(
    {
        "status",
        "processing_type",
        "schedule_kind",
        "cron_tab",
        "day_of_month",
        "time_of_day",
        "working_days",
        "skip_non_working_days",
        "calendar",
        "time_zone",
        "window_start",
        "window_end",
        "start_at",
        "end_at",
    }
)
"""Fields whose change moves the next fire time (recomputed from now)."""

# Which kinds use which kind-specific field (request field name, label in errors).
_KIND_FIELDS = (
    ("cron_tab", "CronTab", {"cron"}),
    ("day_of_month", "DayOfMonth", {"nth_day"}),
    ("time_of_day", "TimeOfDay", {"last_day", "nth_day"}),
)


def apply_fields(
    session: Session, caller: Caller, row: TriggerRow, data: TriggerFields, *, creating: bool
) -> None:
    given = data.model_fields_set
    for field, column in _PLAIN.items():
        value = getattr(data, field)
        if field in given and (value is not None or column in _NULLABLE):
            setattr(row, column, value)
    if "folder" in given:
        row.folder_id = folder_id_for(session, caller, data.folder)
    _set_kind(row, data, creating=creating)
    _check_kind_fields(row, data)
    _set_calendar(session, caller, row, data)
    _set_robots(session, caller, row, data)
    _set_queue(session, caller, row, data)
    if "mail_condition" in given:
        row.mail_condition = (
            None if data.mail_condition is None else _mail(session, caller, data.mail_condition)
        )
    _check_times(row)
    checked(schedule_of(row), calendar_of(session, row))


def _set_kind(row: TriggerRow, data: TriggerFields, *, creating: bool) -> None:
    """ProcessingType 1 is ScheduleKind continuous; 2 any of cron, last_day, nth_day."""
    kind: str | None = data.schedule_kind
    processing = data.processing_type
    if kind is not None:
        expected = CONTINUOUS if kind == "continuous" else BY_SCHEDULE
        if processing is not None and processing != expected:
            raise InvalidInput.for_field(
                "ProcessingType",
                f"is {expected} for ScheduleKind {kind} (1 continuous; 2 cron, last_day or "
                "nth_day)",
            )
    elif processing is not None:
        if processing == CONTINUOUS:
            kind = "continuous"
        else:
            kind = "cron" if creating or row.schedule_kind == "continuous" else row.schedule_kind
    elif creating:
        kind = _inferred_kind(data)
    if kind is not None:
        row.schedule_kind = kind
        row.processing_type = CONTINUOUS if kind == "continuous" else BY_SCHEDULE


def _inferred_kind(data: TriggerFields) -> str:
    if data.cron_tab:
        return "cron"
    if data.queue is not None or data.mail_condition is not None:
        return "continuous"
    raise InvalidInput.for_field(
        "ProcessingType", "is required: 1 continuous or 2 by schedule (with a CronTab)"
    )


def _check_kind_fields(row: TriggerRow, data: TriggerFields) -> None:
    """A field of another kind in the request is a mistake to name; a stored one left from
    the kind before is dropped."""
    for field, label, kinds in _KIND_FIELDS:
        if row.schedule_kind in kinds:
            if getattr(row, field) is None:
                raise InvalidInput.for_field(
                    label, f"is required for ScheduleKind {row.schedule_kind}"
                )
            continue
        if field in data.model_fields_set and getattr(data, field) is not None:
            raise InvalidInput.for_field(
                label, f"is for ScheduleKind {' or '.join(sorted(kinds))}, not {row.schedule_kind}"
            )
        setattr(row, field, None)
    if row.working_days and row.schedule_kind not in {"last_day", "nth_day"}:
        if data.working_days:
            raise InvalidInput.for_field(
                "WorkingDays", "counts the days of last_day and nth_day schedules only"
            )
        row.working_days = False


def _set_calendar(session: Session, caller: Caller, row: TriggerRow, data: TriggerFields) -> None:
    if "calendar" in data.model_fields_set:
        row.calendar_id = None
        if data.calendar is not None:
            resource = find_resource(session, caller, data.calendar, field="CalendarId")
            if resource.type != CALENDAR:
                raise InvalidInput.for_field(
                    "CalendarId", f"resource '{resource.name}' is not a calendar (Type 3)"
                )
            row.calendar_id = resource.id
    if row.calendar_id is None and (row.working_days or row.skip_non_working):
        raise InvalidInput.for_field(
            "CalendarId", "is required with WorkingDays or SkipNonWorkingDays"
        )


def _set_robots(session: Session, caller: Caller, row: TriggerRow, data: TriggerFields) -> None:
    given = data.model_fields_set
    if data.robot is not None:
        robot = find_robot(session, caller, data.robot, field="RobotId")
        row.robot_id, row.robot_group_id = robot.id, None
    elif "robot" in given:
        row.robot_id = None
    if data.robot_group is not None:
        group = find_group(session, caller, data.robot_group, field="RobotGroupId")
        row.robot_group_id = group.id
        if data.robot is None:
            row.robot_id = None
    elif "robot_group" in given:
        row.robot_group_id = None
    row.robot_type = robot_target(
        data.robot_type, robot=row.robot_id is not None, group=row.robot_group_id is not None
    )
    if row.when_busy == "any_free" and row.robot_type != ROBOT_GROUP:
        raise InvalidInput.for_field(
            "WhenBusy", "any_free gives the job to a group's first free robot: name a RobotGroupId"
        )


def _set_queue(session: Session, caller: Caller, row: TriggerRow, data: TriggerFields) -> None:
    given = data.model_fields_set
    if "queue" in given:
        row.queue_id = None
        if data.queue is not None:
            queue = find(session, QueueRow, caller, data.queue, entity="queue", field="QueueId")
            row.queue_id = queue.id
    if "queue_condition" in given:
        row.queue_condition = (
            None if data.queue_condition is None else data.queue_condition.model_dump()
        )
    if row.queue_id is None and row.queue_condition is not None:
        if "queue_condition" in given:
            raise InvalidInput.for_field("QueueId", "is required with a QueueCondition")
        row.queue_condition = None  # the queue was cleared: its condition goes with it
    if row.queue_id is not None and row.queue_condition is None:
        row.queue_condition = _default_queue_condition()


def _default_queue_condition() -> dict[str, Any]:
    return QueueCondition().model_dump()


def _mail(session: Session, caller: Caller, mail: MailCondition) -> dict[str, Any]:
    """The stored document: every key, the credential and the queue as ids."""
    credential = find_resource(
        session, caller, mail.credential_id, field="MailCondition.CredentialId"
    )
    if credential.type != CREDENTIALS:
        raise InvalidInput.for_field(
            "MailCondition.CredentialId",
            f"resource '{credential.name}' is not credentials (Type 1)",
        )
    queue = find(
        session, QueueRow, caller, mail.queue_id, entity="queue", field="MailCondition.QueueId"
    )
    document = mail.model_dump()
    document.update(credential_id=credential.id, queue_id=queue.id)
    if document["port"] is None:
        document["port"] = default_port(mail.protocol, mail.ssl)
    return document


def _check_times(row: TriggerRow) -> None:
    if (row.window_start is None) != (row.window_end is None):
        missing = "WindowEnd" if row.window_end is None else "WindowStart"
        raise InvalidInput.for_field(missing, "a time window needs both WindowStart and WindowEnd")
    if row.window_start is not None and row.window_start == row.window_end:
        raise InvalidInput.for_field(
            "WindowEnd", "must differ from WindowStart (no window: leave both empty)"
        )
    if row.start_at is not None and row.end_at is not None and row.end_at <= row.start_at:
        raise InvalidInput.for_field("EndAt", "must be after StartAt")
