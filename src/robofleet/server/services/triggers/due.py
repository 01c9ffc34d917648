"""Schedule fires: the triggers whose next fire time has come, each fired once.

The due triggers fire in batches, one transaction per batch: each fire (its record and job)
and its trigger's new next_fire_at commit together, so a leader that dies mid-pass leaves each
trigger either fired and moved on, or untouched for the next leader; the fire key catches two
leaders that overlap.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from robofleet.server.db.system_actors import TRIGGER_FIRES
from robofleet.server.db.tables import ProcessRow, TriggerRow
from robofleet.server.domain.schedules import ScheduleError, ScheduleKind, due, in_window
from robofleet.server.runtime import Runtime
from robofleet.server.services.triggers.default_task import QueueCondition, count_new
from robofleet.server.services.triggers.firing import (
    ENABLED,
    FireOutcome,
    FireRequest,
    PendingFire,
    fire_locked,
    fire_pending,
    skip_in_session,
    write_pending,
)
from robofleet.server.services.triggers.rules import FireBatch
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


def due_triggers(runtime: Runtime, now: datetime) -> list[tuple[int, int]]:
    """(id, priority) of enabled triggers with a fire time due, in the order they fire:
    priority (3 High first), then the earlier time, then the older trigger."""
    with runtime.db.read() as session:
        rows = session.execute(
            select(TriggerRow.id, TriggerRow.priority)
            .where(*_scheduled(), TriggerRow.next_fire_at <= now)
            .order_by(TriggerRow.priority.desc(), TriggerRow.next_fire_at, TriggerRow.id)
        )
        return [(row.id, row.priority) for row in rows]


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
    return fire_due_batch(runtime, [trigger_id], now, alone=True)[0]


BATCH = 50
"""Due triggers fired per transaction: 1,000 triggers due in the same second must all fire
within a second, and a commit per fire would cost more than the fires themselves."""


def fire_due_batch(
    runtime: Runtime, trigger_ids: list[int], now: datetime, *, alone: bool = False
) -> list[FireOutcome | None]:
    """Fire these due triggers in one transaction, in the order given, all locked by one
    statement; their jobs are written by one INSERT, their records by another, the triggers'
    new times by one UPDATE each (a statement per fire would cost more than the rules).

    An error in one fails the batch (nothing of it commits): a fire key another node took
    meanwhile, too. The caller then fires them one by one (fire_due, `alone`: each fire
    written at once in a savepoint), so the error stays with its trigger and a taken key is
    a duplicate that still moves the trigger on."""
    with runtime.db.write(actor=TRIGGER_FIRES) as session, session.no_autoflush:
        if not alone:
            FireBatch().open(session)
        locked = session.scalars(
            select(TriggerRow)
            .where(TriggerRow.id.in_(trigger_ids))
            .order_by(TriggerRow.id)
            .with_for_update()
        )
        by_id = {row.id: row for row in locked}
        # Loaded once and held for the batch: the session's identity map keeps only objects
        # someone references, and each fire looks its process up.
        processes = list(
            session.scalars(
                select(ProcessRow).where(
                    ProcessRow.id.in_({row.process_id for row in by_id.values()})
                )
            )
        )
        fires = [_fire_if_due(session, runtime, by_id.get(i), now, alone) for i in trigger_ids]
        pending = [fire for fire in fires if isinstance(fire, PendingFire)]
        written = iter(write_pending(session, runtime, pending))
        del processes
        return [next(written) if isinstance(fire, PendingFire) else fire for fire in fires]


def _fire_if_due(
    session: Session,
    runtime: Runtime,
    trigger: TriggerRow | None,
    now: datetime,
    alone: bool,
) -> FireOutcome | PendingFire | None:
    if (
        trigger is None
        or trigger.is_deleted
        or trigger.status != ENABLED
        or trigger.next_fire_at is None
        or trigger.next_fire_at > now
    ):
        return None
    try:
        return _fire_due(session, runtime, trigger, now, alone)
    except (ScheduleError, ValueError) as exc:
        # A schedule that cannot compute its times stops (next_fire_at cleared) until it is
        # edited, instead of failing on every pass; the history says why. (Raised before
        # anything of this fire is written.)
        log.warning("trigger %s stops: %s", trigger.guid, exc)
        request = FireRequest(trigger.id, "schedule", fire_key(now), now, now)
        outcome = skip_in_session(session, trigger, request, f"schedule error: {exc}")
        trigger.next_fire_at = None
        return outcome


def _fire_due(
    session: Session, runtime: Runtime, trigger: TriggerRow, now: datetime, alone: bool
) -> FireOutcome | PendingFire | None:
    assert trigger.next_fire_at is not None
    schedule = schedule_of(trigger)
    result = due(
        schedule,
        next_at=trigger.next_fire_at,
        now=now,
        check_missed=trigger.check_missed,
        calendar=calendar_of(session, trigger),
    )
    outcome: FireOutcome | PendingFire | None = None
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
            fire = fire_locked if alone else fire_pending
            outcome = fire(session, runtime, trigger, request)
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
