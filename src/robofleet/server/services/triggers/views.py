"""A trigger row as the API reads it: Sherpa's snake_case keys, related objects by id and
GUID, durations as h:mm beside their seconds."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from robofleet.server.db.tables import (
    JobRow,
    ProcessRow,
    QueueRow,
    ResourceRow,
    RobotGroupRow,
    RobotRow,
    TriggerFireRow,
    TriggerRow,
)
from robofleet.server.schemas.triggers import STATUS_NAMES, TriggerFireRead, TriggerRead


def duration_text(seconds: int | None) -> str | None:
    """3600 -> `1:00`, 5400 -> `1:30`, 90 -> `0:01:30`."""
    if seconds is None:
        return None
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}" if secs == 0 else f"{hours}:{minutes:02d}:{secs:02d}"


def _guid(session: Session, model: Any, row_id: int | None) -> str | None:
    if row_id is None:
        return None
    row = session.get(model, row_id)
    return None if row is None else str(row.guid)


def _name(session: Session, model: Any, row_id: int | None) -> str | None:
    row = None if row_id is None else session.get(model, row_id)
    return None if row is None else str(row.name)


def trigger_view(session: Session, row: TriggerRow) -> TriggerRead:
    process = session.get(ProcessRow, row.process_id)
    return TriggerRead(
        id=row.id,
        guid=row.guid,
        account_id=row.account_id,
        name=row.name,
        description=row.description,
        status=row.status,
        status_name=STATUS_NAMES.get(row.status, str(row.status)),
        processing_type=row.processing_type,
        schedule_kind=row.schedule_kind,
        cron_tab=row.cron_tab,
        day_of_month=row.day_of_month,
        time_of_day=row.time_of_day,
        working_days=row.working_days,
        skip_non_working_days=row.skip_non_working,
        calendar_id=row.calendar_id,
        calendar_guid=_guid(session, ResourceRow, row.calendar_id),
        time_zone=row.time_zone,
        window_start=row.window_start,
        window_end=row.window_end,
        start_at=row.start_at,
        end_at=row.end_at,
        check_missed_trigger=row.check_missed,
        robot_type=row.robot_type,
        robot_id=row.robot_id,
        robot_guid=_guid(session, RobotRow, row.robot_id),
        robot_name=_name(session, RobotRow, row.robot_id),
        robot_group_id=row.robot_group_id,
        robot_group_guid=_guid(session, RobotGroupRow, row.robot_group_id),
        robot_group_name=_name(session, RobotGroupRow, row.robot_group_id),
        process_id=row.process_id,
        process_guid="" if process is None else process.guid,
        process_name="" if process is None else process.name,
        priority=row.priority,
        parameters=row.parameters,
        max_runs=row.max_runs,
        max_monthly_runs=row.max_monthly_runs,
        max_running_robots=row.max_running_robots,
        when_busy=row.when_busy,
        stop_after=duration_text(row.stop_after_seconds),
        stop_after_seconds=row.stop_after_seconds,
        abort_after=duration_text(row.abort_after_seconds),
        abort_after_seconds=row.abort_after_seconds,
        queue_id=row.queue_id,
        queue_guid=_guid(session, QueueRow, row.queue_id),
        queue_name=_name(session, QueueRow, row.queue_id),
        queue_condition=row.queue_condition,
        mail_condition=row.mail_condition,
        runs=row.runs,
        month_runs=row.month_runs,
        next_fire_at=row.next_fire_at,
        last_fire_at=row.last_fire_at,
        last_checked_at=row.last_checked_at,
        folder_id=row.folder_id,
        is_deleted=row.is_deleted,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def fire_view(session: Session, row: TriggerFireRow) -> TriggerFireRead:
    return TriggerFireRead(
        id=row.id,
        reason=row.reason,
        outcome=row.outcome,
        detail=row.detail,
        fire_key=row.fire_key,
        scheduled_at=row.scheduled_at,
        job_id=row.job_id,
        job_guid=_guid(session, JobRow, row.job_id),
        created_at=row.created_at,
    )
