"""Triggers: create, read, update, delete, list, enable and disable.

Every write that can move the schedule stores the next fire time (from now) in the same
transaction, so the scheduler's one read (`ix_triggers_due`) always sees a current value; a
disabled, completed or deleted trigger has none."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from robofleet.contract import TriggerStatus
from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import QueueRow, TriggerRow
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import new_guid
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import GuidResponse, Page
from robofleet.server.schemas.triggers import (
    TriggerCreate,
    TriggerFilter,
    TriggerRead,
    TriggerUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import ensure_name_free, find, scoped
from robofleet.server.services.fleet.groups import find_group
from robofleet.server.services.fleet.robots import find_robot
from robofleet.server.services.processes.crud import find_process
from robofleet.server.services.triggers.apply import SCHEDULE_FIELDS, apply_fields
from robofleet.server.services.triggers.timing import refresh_next_fire
from robofleet.server.services.triggers.views import trigger_view

ENABLED, DISABLED = int(TriggerStatus.ENABLED), int(TriggerStatus.DISABLED)


def find_trigger(
    session: Session,
    caller: Caller,
    ref: int | str,
    *,
    field: str = "Guid",
    for_update: bool = False,
) -> TriggerRow:
    return find(
        session, TriggerRow, caller, ref, entity="trigger", field=field, for_update=for_update
    )


def create_trigger(runtime: Runtime, caller: Caller, data: TriggerCreate) -> GuidResponse:
    caller.require(Screen.TRIGGER, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        ensure_name_free(session, TriggerRow, caller, data.name, entity="trigger")
        process = find_process(session, caller, data.process, field="ProcessId")
        row = TriggerRow(
            guid=new_guid(),
            account_id=caller.account_id,
            name=data.name,
            process_id=process.id,
            # The columns' defaults, set here because the rules below read the row before
            # any flush would fill them in.
            description="",
            status=ENABLED,
            priority=2,
            parameters={},
            processing_type=2,
            schedule_kind="cron",
            working_days=False,
            skip_non_working=False,
            time_zone="UTC",
            check_missed=False,
            robot_type=1,
            max_running_robots=0,
            when_busy="skip",
            max_runs=0,
            max_monthly_runs=0,
            is_deleted=False,
        )
        apply_fields(session, caller, row, data, creating=True)
        refresh_next_fire(session, row, utcnow())
        session.add(row)
        session.flush()
        return GuidResponse(guid=row.guid)


def read_trigger(runtime: Runtime, caller: Caller, ref: int | str) -> TriggerRead:
    caller.require(Screen.TRIGGER, Action.READ)
    with runtime.db.read() as session:
        return trigger_view(session, find_trigger(session, caller, ref))


def update_trigger(runtime: Runtime, caller: Caller, data: TriggerUpdate) -> None:
    caller.require(Screen.TRIGGER, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        row = find_trigger(session, caller, data.guid, for_update=True)
        if data.name is not None and data.name != row.name:
            ensure_name_free(session, TriggerRow, caller, data.name, entity="trigger")
            row.name = data.name
        if data.process is not None:
            row.process_id = find_process(session, caller, data.process, field="ProcessId").id
        apply_fields(session, caller, row, data, creating=False)
        if SCHEDULE_FIELDS & data.model_fields_set:
            refresh_next_fire(session, row, utcnow())


def set_enabled(runtime: Runtime, caller: Caller, ref: int | str, *, enabled: bool) -> None:
    """Enabling (a disabled or completed trigger) counts its schedule from now: times that
    passed while it was off are not missed fires."""
    caller.require(Screen.TRIGGER, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        row = find_trigger(session, caller, ref, for_update=True)
        row.status = ENABLED if enabled else DISABLED
        refresh_next_fire(session, row, utcnow())


def delete_trigger(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.TRIGGER, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        row = find_trigger(session, caller, ref, for_update=True)
        row.is_deleted = True
        row.next_fire_at = None


def list_triggers(runtime: Runtime, caller: Caller, query: TriggerFilter) -> Page[TriggerRead]:
    caller.require(Screen.TRIGGER, Action.READ)
    with runtime.db.read() as session:
        rows = scoped(TriggerRow, caller)
        if query.name is not None:
            rows = rows.where(TriggerRow.name == query.name)
        if query.status is not None:
            rows = rows.where(TriggerRow.status == query.status)
        if query.processing_type is not None:
            rows = rows.where(TriggerRow.processing_type == query.processing_type)
        if query.schedule_kind is not None:
            rows = rows.where(TriggerRow.schedule_kind == query.schedule_kind)
        if query.process is not None:
            process = find_process(session, caller, query.process, field="ProcessId")
            rows = rows.where(TriggerRow.process_id == process.id)
        if query.robot is not None:
            robot = find_robot(session, caller, query.robot, field="RobotId")
            rows = rows.where(TriggerRow.robot_id == robot.id)
        if query.robot_group is not None:
            group = find_group(session, caller, query.robot_group, field="RobotGroupId")
            rows = rows.where(TriggerRow.robot_group_id == group.id)
        if query.queue is not None:
            queue = find(session, QueueRow, caller, query.queue, entity="queue", field="QueueId")
            rows = rows.where(TriggerRow.queue_id == queue.id)
        total = session.scalar(select(func.count()).select_from(rows.subquery())) or 0
        page = session.scalars(
            rows.order_by(TriggerRow.name, TriggerRow.id).offset(query.offset).limit(query.count)
        ).all()
        items = [trigger_view(session, row) for row in page]
        return Page(items=items, total=total, offset=query.offset, count=len(items))
