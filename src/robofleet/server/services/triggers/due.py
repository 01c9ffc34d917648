"""Schedule fires: the triggers whose next fire time has come, each fired once.

One transaction per trigger: the fire (its record and job) and the trigger's new next_fire_at
commit together, so a leader that dies between two triggers leaves each either fired and moved
on, or untouched for the next leader; the fire key catches two leaders that overlap.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from robofleet.server.db.system_actors import SCHEDULER
from robofleet.server.db.tables import TriggerRow
from robofleet.server.domain.schedules import ScheduleError, ScheduleKind, due, in_window
from robofleet.server.runtime import Runtime
from robofleet.server.services.triggers.default_task import QueueCondition, count_new
from robofleet.server.services.triggers.firing import (
    ENABLED,
    FireOutcome,
    FireRequest,
    fire_in_session,
    skip_in_session,
)
from robofleet.server.services.triggers.schedule_of import calendar_of, schedule_of

log = logging.getLogger("robofleet.triggers")


def fire_key(at: datetime) -> str:
    """The key of a schedule fire (or of the missed fire that stands for it): the time in UTC."""
    return "at:" + at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _scheduled() -> list[ColumnElement[bool]]:
    return [
        TriggerRow.status == ENABLED,
        TriggerRow.is_deleted.is_(False),
        TriggerRow.schedule_kind != ScheduleKind.CONTINUOUS.value,
    ]


def due_triggers(runtime: Runtime, now: datetime) -> list[int]:
    """Enabled triggers with a fire time due, in the order they fire: priority (3 High
    first), then the earlier time, then the older trigger."""
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(TriggerRow.id)
                .where(*_scheduled(), TriggerRow.next_fire_at <= now)
                .order_by(TriggerRow.priority.desc(), TriggerRow.next_fire_at, TriggerRow.id)
            )
        )


def earliest_fire(runtime: Runtime) -> datetime | None:
    """The next time any trigger is due (the scheduler sleeps until then)."""
    with runtime.db.read() as session:
        found: datetime | None = session.scalar(
            select(func.min(TriggerRow.next_fire_at)).where(*_scheduled())
        )
        return found


def fire_due(runtime: Runtime, trigger_id: int, now: datetime) -> FireOutcome | None:
    """Fire one due trigger at `now` and move its next fire time on; None when it was not due
    after all (another node fired it, or it changed)."""
    with runtime.db.write(actor=SCHEDULER) as session:
        trigger = session.scalar(
            select(TriggerRow).where(TriggerRow.id == trigger_id).with_for_update()
        )
        if (
            trigger is None
            or trigger.is_deleted
            or trigger.status != ENABLED
            or trigger.next_fire_at is None
            or trigger.next_fire_at > now
        ):
            return None
        try:
            return _fire_due(session, runtime, trigger, now)
        except ScheduleError as exc:
            # A schedule that cannot compute its times stops (next_fire_at cleared) until it is
            # edited, instead of failing on every tick; the history says why.
            log.warning("trigger %s stops: %s", trigger.guid, exc)
            request = FireRequest(trigger.id, "schedule", fire_key(now), now, now)
            outcome = skip_in_session(session, trigger, request, f"schedule error: {exc}")
            trigger.next_fire_at = None
            return outcome


def _fire_due(
    session: Session, runtime: Runtime, trigger: TriggerRow, now: datetime
) -> FireOutcome | None:
    assert trigger.next_fire_at is not None
    schedule = schedule_of(trigger)
    result = due(
        schedule,
        next_at=trigger.next_fire_at,
        now=now,
        check_missed=trigger.check_missed,
        calendar=calendar_of(session, trigger),
    )
    outcome: FireOutcome | None = None
    if result.skipped:
        # Times that passed while no scheduler ran and get no fire of their own (all of them
        # without CheckMissedTrigger; all but the latest with it): one line in the history,
        # under the first of them.
        first = trigger.next_fire_at
        detail = f"missed {result.skipped} fire time(s) from {first:%Y-%m-%d %H:%M:%S} UTC"
        request = FireRequest(trigger.id, "missed", fire_key(first), first, now)
        outcome = skip_in_session(session, trigger, request, detail)
    if result.fire_at is not None:
        reason = "missed" if result.missed else "schedule"
        request = FireRequest(trigger.id, reason, fire_key(result.fire_at), result.fire_at, now)
        unmet = _unmet(session, trigger, result.fire_at)
        if unmet:
            outcome = skip_in_session(session, trigger, request, unmet)
        else:
            outcome = fire_in_session(session, runtime, request)
    trigger.last_checked_at = now
    if trigger.status == ENABLED:  # a fire that reached max runs completed it
        trigger.next_fire_at = result.next_at
    return outcome


def _unmet(session: Session, trigger: TriggerRow, at: datetime) -> str | None:
    """What keeps a due time from firing besides the job rules: the daily window, and for a
    trigger with a queue condition, that condition (checked at each cron time)."""
    schedule = schedule_of(trigger)
    if not in_window(schedule.window, at, schedule.time_zone):
        return "outside the daily window"
    if trigger.queue_id is None:
        return None
    condition = QueueCondition.of(trigger.queue_condition)
    new = count_new(session, trigger, condition)
    if new <= condition.min_new_tasks:
        return (
            f"queue condition not met: {new} New task(s), needs more than {condition.min_new_tasks}"
        )
    return None
