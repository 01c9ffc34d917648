"""Continuous triggers: a job whenever the trigger has none pending or running, within its
daily window and valid dates, under its limits.

A continuous trigger with a queue or an e-mail condition is driven by that condition instead
(queue_watch, the mail checker): "continuous" then means "at any time", not "always a job"."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from robofleet.server.db.system_actors import TRIGGER_FIRES
from robofleet.server.db.tables import JobRow, TriggerRow
from robofleet.server.domain.schedules import Schedule, ScheduleError, ScheduleKind, in_window
from robofleet.server.runtime import Runtime
from robofleet.server.services.triggers.firing import (
    ENABLED,
    FireOutcome,
    FireRequest,
    fire_in_session,
)
from robofleet.server.services.triggers.rules import LIVE_FOR_CAP
from robofleet.server.services.triggers.schedule_of import schedule_of


def idle_continuous(runtime: Runtime) -> list[int]:
    """Enabled plain continuous triggers with no job pending or running, by priority."""
    live = select(JobRow.id).where(
        JobRow.schedule_id == TriggerRow.id,
        JobRow.status.in_(LIVE_FOR_CAP),
        JobRow.is_deleted.is_(False),
    )
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(TriggerRow.id)
                .where(
                    TriggerRow.status == ENABLED,
                    TriggerRow.is_deleted.is_(False),
                    TriggerRow.schedule_kind == ScheduleKind.CONTINUOUS.value,
                    TriggerRow.queue_id.is_(None),
                    TriggerRow.mail_condition.is_(None),
                    ~live.exists(),
                )
                .order_by(TriggerRow.priority.desc(), TriggerRow.id)
            )
        )


def fire_continuous(runtime: Runtime, trigger_id: int, now: datetime) -> FireOutcome | None:
    """One job for an idle continuous trigger, if its window and dates allow it now."""
    with runtime.db.write(actor=TRIGGER_FIRES) as session:
        trigger = session.scalar(
            select(TriggerRow).where(TriggerRow.id == trigger_id).with_for_update()
        )
        if trigger is None or trigger.status != ENABLED or trigger.is_deleted:
            return None
        try:
            schedule = schedule_of(trigger)
        except ScheduleError:
            return None
        if not within_dates_and_window(trigger, schedule, now):
            return None
        trigger.last_checked_at = now
        request = FireRequest(trigger.id, "continuous", f"continuous:{uuid.uuid4().hex}", None, now)
        return fire_in_session(session, runtime, request)


def within_dates_and_window(trigger: TriggerRow, schedule: Schedule, now: datetime) -> bool:
    """Whether a condition (continuous, queue) may fire at `now`: valid from / to, and the
    daily window."""
    if trigger.start_at is not None and now < trigger.start_at:
        return False
    if trigger.end_at is not None and now >= trigger.end_at:
        return False
    return in_window(schedule.window, now, schedule.time_zone)
