"""Queue conditions: jobs when a queue holds more than N New tasks, one more per M tasks up to
the concurrency cap; looked at when tasks arrive (runtime.arrivals) and, as a safety net, now
and then by the scheduler.

These are the continuous triggers with a watched queue; a cron trigger with a queue condition
checks it at its cron times instead (due._unmet)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from robofleet.contract import TriggerStatus
from robofleet.server.db.system_actors import TRIGGER_FIRES
from robofleet.server.db.tables import TaskRow, TriggerRow
from robofleet.server.domain.schedules import ScheduleError, ScheduleKind
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.runtime import Runtime
from robofleet.server.services.triggers.continuous import within_dates_and_window
from robofleet.server.services.triggers.default_task import QueueCondition, count_new
from robofleet.server.services.triggers.firing import (
    ENABLED,
    FireOutcome,
    FireRequest,
    fire_in_session,
)
from robofleet.server.services.triggers.rules import live_jobs
from robofleet.server.services.triggers.schedule_of import schedule_of

COMPLETED = int(TriggerStatus.COMPLETED)


def _watching() -> list[ColumnElement[bool]]:
    return [
        TriggerRow.status == ENABLED,
        TriggerRow.is_deleted.is_(False),
        TriggerRow.schedule_kind == ScheduleKind.CONTINUOUS.value,
        TriggerRow.queue_id.is_not(None),
        TriggerRow.mail_condition.is_(None),
    ]


def watched_queues(runtime: Runtime) -> frozenset[int]:
    """The queues whose task arrivals some trigger reacts to."""
    with runtime.db.read() as session:
        found = session.scalars(select(TriggerRow.queue_id).where(*_watching()).distinct())
        return frozenset(q for q in found if q is not None)


def queue_triggers(runtime: Runtime, queue_ids: Collection[int] | None = None) -> list[int]:
    """The triggers watching these queues (all watched queues with None), by priority."""
    conditions = _watching()
    if queue_ids is not None:
        conditions.append(TriggerRow.queue_id.in_(sorted(queue_ids)))
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(TriggerRow.id)
                .where(*conditions)
                .order_by(TriggerRow.priority.desc(), TriggerRow.id)
            )
        )


def check_queue(runtime: Runtime, trigger_id: int, now: datetime) -> list[FireOutcome]:
    """Create the jobs the queue condition asks for now (or complete the trigger on an empty
    queue); one transaction, the trigger locked."""
    with runtime.db.write(actor=TRIGGER_FIRES) as session:
        trigger = session.scalar(
            select(TriggerRow).where(TriggerRow.id == trigger_id).with_for_update()
        )
        if trigger is None or trigger.is_deleted or trigger.status != ENABLED:
            return []
        if trigger.queue_id is None:
            return []
        try:
            schedule = schedule_of(trigger)
        except ScheduleError:
            return []
        if not within_dates_and_window(trigger, schedule, now):
            return []
        trigger.last_checked_at = now
        return _fire_for_queue(session, runtime, trigger, now)


def _fire_for_queue(
    session: Session, runtime: Runtime, trigger: TriggerRow, now: datetime
) -> list[FireOutcome]:
    condition = QueueCondition.of(trigger.queue_condition)
    new = count_new(session, trigger, condition)
    live = live_jobs(session, trigger.id)
    if new == 0 and condition.finish_when_empty and _finished(session, trigger, live):
        trigger.status = COMPLETED
        trigger.next_fire_at = None
        return []
    if new <= condition.min_new_tasks:
        return []
    # One job per M New tasks (rounded up), counting the trigger's live jobs, which work the
    # same queue; the concurrency cap and the robot rules (in fire) bound it further.
    wanted = math.ceil(new / condition.tasks_per_job) - live
    if trigger.max_running_robots > 0:
        wanted = min(wanted, trigger.max_running_robots - live)
    outcomes: list[FireOutcome] = []
    for _ in range(max(wanted, 0)):
        request = FireRequest(trigger.id, "queue", f"queue:{uuid.uuid4().hex}", None, now)
        outcome = fire_in_session(session, runtime, request)
        outcomes.append(outcome)
        if not outcome.created:
            break
    return outcomes


def _finished(session: Session, trigger: TriggerRow, live: int) -> bool:
    """The queue is empty for this trigger: it has fired at least once, none of its jobs is
    pending or running, and no task (with its tags) is New or In Progress."""
    if trigger.runs == 0 or live:
        return False
    condition = QueueCondition.of(trigger.queue_condition)
    working = (
        select(func.count())
        .select_from(TaskRow)
        .where(
            TaskRow.queue_id == trigger.queue_id,
            TaskRow.is_deleted.is_(False),
            TaskRow.status.in_([int(TaskStatus.NEW), int(TaskStatus.IN_PROGRESS)]),
            *(TaskRow.tags.like(f"%;{tag};%") for tag in condition.tags),
        )
    )
    return not session.scalar(working)
