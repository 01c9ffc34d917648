"""How a fire becomes a job: the one function every trigger condition (schedule, continuous,
queue, e-mail, test) calls.

A fire is named by its key (trigger_fires UNIQUE(trigger_id, fire_key)); its record and its job
are written in the same transaction, so a fire that committed once is never repeated, across
restarts, leader changes and concurrent nodes: the second attempt finds the key taken and
reports `duplicate` without writing anything.

The trigger row is locked first, so two fires of one trigger (two nodes, or the scheduler and a
task arrival) take their turns: the limits, the concurrency cap and the busy-robot rule each
see the jobs the other created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robofleet.contract import TriggerStatus
from robofleet.server.db.system_actors import SCHEDULER
from robofleet.server.db.tables import JobRow, ProcessRow, TaskRow, TriggerFireRow, TriggerRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.runtime import Runtime
from robofleet.server.services.jobs.crud import NewJob, add_job
from robofleet.server.services.triggers.default_task import QueueCondition, hand_over, pick_task
from robofleet.server.services.triggers.rules import (
    FireBatch,
    Skip,
    check_cap,
    check_limits,
    choose_target,
    count_run,
)

REASONS = frozenset({"schedule", "missed", "queue", "mail", "test", "continuous"})
ENABLED = int(TriggerStatus.ENABLED)
SOURCE = "Trigger"


@dataclass(frozen=True)
class FireRequest:
    trigger_id: int
    reason: str
    """schedule | missed | queue | mail | test | continuous."""
    fire_key: str
    """At most 64 characters; the same key fires once (COMMON: `at:<UTC ISO>`, `test:<hex>`...)."""
    scheduled_at: datetime | None
    """The schedule's time this fire stands for (None for queue, e-mail and test fires)."""
    now: datetime
    task_id: int | None = None
    """The job's default task, already made by the caller (an e-mail fire's task)."""


@dataclass(frozen=True)
class FireOutcome:
    fire_id: int | None
    """The trigger_fires row written (None when nothing was: a duplicate or a gone trigger)."""
    created: bool
    duplicate: bool
    """The key had fired already: nothing was written."""
    detail: str
    job_id: int | None
    job_guid: str | None


def fire(runtime: Runtime, request: FireRequest) -> FireOutcome:
    """Fire in a transaction of its own, written as the scheduler."""
    try:
        with runtime.db.write(actor=SCHEDULER) as session:
            return fire_in_session(session, runtime, request)
    except Conflict:
        # Another node committed the same key between our look and our commit.
        return _duplicate(request)


def fire_in_session(session: Session, runtime: Runtime, request: FireRequest) -> FireOutcome:
    """Fire inside the caller's transaction.

    A key that fired already returns `duplicate=True` and writes nothing; the session stays
    usable. The caller that wrote something for this fire first (the e-mail condition's task)
    must then roll its own work back (raise out of its transaction)."""
    if request.reason not in REASONS:
        raise ValueError(f"unknown fire reason {request.reason!r}")
    trigger = _locked(session, request.trigger_id)
    if trigger is None:
        return FireOutcome(None, False, False, "the trigger is gone", None, None)
    if _fired(session, request):
        return _duplicate(request)
    return fire_locked(session, runtime, trigger, request)


def fire_locked(
    session: Session, runtime: Runtime, trigger: TriggerRow, request: FireRequest
) -> FireOutcome:
    """fire_in_session for a caller that holds the trigger's row lock already. A taken key
    still answers `duplicate`, through the unique constraint instead of a look first."""
    record = _record(trigger, request, "created")
    try:
        # The job and its record together, or neither: a skip (raised before anything is
        # written) or a key another node took meanwhile leaves no trace of the attempt.
        with session.begin_nested():
            job, record.detail = _create_job(session, runtime, trigger, request)
            session.flush()
            record.job_id = job.id
            session.add(record)
            session.flush()
    except IntegrityError:
        return _duplicate(request)
    except Skip as skip:
        return _skipped(session, trigger, request, str(skip))
    return FireOutcome(record.id, True, False, record.detail, job.id, job.guid)


@dataclass(frozen=True)
class PendingFire:
    """A fire whose job and record are added to the session, not yet written."""

    record: TriggerFireRow
    job: JobRow


def fire_pending(
    session: Session, runtime: Runtime, trigger: TriggerRow, request: FireRequest
) -> FireOutcome | PendingFire:
    """fire_locked for the scheduler's batches (the session's FireBatch open, autoflush
    off): the job is added but not written; write_pending then writes every job of the
    batch with one INSERT, and their records with another. A key taken meanwhile fails the
    whole transaction there (IntegrityError); the scheduler then fires each trigger alone.
    A skip is written at once, as by fire_locked."""
    batch = FireBatch.of(session)
    assert batch is not None, "fire_pending needs the session's FireBatch"
    try:
        job, detail = _create_job(session, runtime, trigger, request, flush=False)
    except Skip as skip:
        return _skipped(session, trigger, request, str(skip))
    batch.claim(job.robot_id)
    return PendingFire(_record(trigger, request, "created", detail), job)


def write_pending(
    session: Session, runtime: Runtime, pending: list[PendingFire]
) -> list[FireOutcome]:
    """Write the jobs of these fires (and every other change of the batch), then their
    records, which need the jobs' ids."""
    dialect = runtime.db.dialect
    if pending and (ids := dialect.reserve_ids(session, JobRow.__tablename__, len(pending))):
        for fire, job_id in zip(pending, ids, strict=True):
            fire.job.id = job_id
    session.flush()
    records = [fire.record for fire in pending]
    if records and (
        ids := dialect.reserve_ids(session, TriggerFireRow.__tablename__, len(records))
    ):
        for record, record_id in zip(records, ids, strict=True):
            record.id = record_id
    for fire in pending:
        fire.record.job_id = fire.job.id
    session.add_all(records)
    session.flush()
    return [
        FireOutcome(fire.record.id, True, False, fire.record.detail, fire.job.id, fire.job.guid)
        for fire in pending
    ]


def _record(
    trigger: TriggerRow, request: FireRequest, outcome: str, detail: str = ""
) -> TriggerFireRow:
    """The history row of a fire: a job created, or a skip and why."""
    return TriggerFireRow(
        account_id=trigger.account_id,
        trigger_id=trigger.id,
        fire_key=request.fire_key[:64],
        scheduled_at=request.scheduled_at,
        reason=request.reason,
        outcome=outcome,
        detail=detail,
        created_at=request.now,
    )


def skip_in_session(
    session: Session, trigger: TriggerRow, request: FireRequest, detail: str
) -> FireOutcome:
    """Record a fire that a condition outside the job rules stopped (a queue condition not
    met at a cron time, a fire time outside the daily window)."""
    if _fired(session, request):
        return _duplicate(request)
    return _skipped(session, trigger, request, detail)


QUIET = frozenset({"continuous", "queue"})
"""Conditions evaluated again and again: a skip like the last one recorded is not recorded
again (the history says once that all robots are busy, not every second)."""


def _skipped(
    session: Session, trigger: TriggerRow, request: FireRequest, detail: str
) -> FireOutcome:
    if request.reason in QUIET and _last_record(session, trigger.id) == ("skipped", detail):
        return FireOutcome(None, False, False, detail, None, None)
    record = _record(trigger, request, "skipped", detail)
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        return _duplicate(request)
    return FireOutcome(record.id, False, False, detail, None, None)


def _last_record(session: Session, trigger_id: int) -> tuple[str, str] | None:
    row = session.execute(
        select(TriggerFireRow.outcome, TriggerFireRow.detail)
        .where(TriggerFireRow.trigger_id == trigger_id)
        .order_by(TriggerFireRow.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.outcome, row.detail)


def _locked(session: Session, trigger_id: int) -> TriggerRow | None:
    trigger = session.scalar(
        select(TriggerRow).where(TriggerRow.id == trigger_id).with_for_update()
    )
    if trigger is None or trigger.is_deleted:
        return None
    return trigger


def _fired(session: Session, request: FireRequest) -> bool:
    found = session.scalar(
        select(TriggerFireRow.id).where(
            TriggerFireRow.trigger_id == request.trigger_id,
            TriggerFireRow.fire_key == request.fire_key[:64],
        )
    )
    return found is not None


def _duplicate(request: FireRequest) -> FireOutcome:
    return FireOutcome(None, False, True, f"{request.fire_key} has fired already", None, None)


def _create_job(
    session: Session,
    runtime: Runtime,
    trigger: TriggerRow,
    request: FireRequest,
    *,
    flush: bool = True,
) -> tuple[JobRow, str]:
    """The job of one fire after every job rule; Skip names the rule that stopped it."""
    test = request.reason == "test"
    if not test:
        # A test fire is the operator's "run it now": it works on a disabled trigger and
        # counts toward no limit; every other rule (robots, cap, default task) is the same.
        if trigger.status != ENABLED:
            raise Skip(
                "the trigger is "
                + ("completed" if trigger.status == TriggerStatus.COMPLETED else "disabled")
            )
        check_limits(trigger, request.now)
    process = session.get(ProcessRow, trigger.process_id)
    if process is None or process.is_deleted:
        raise Skip("the trigger's process is gone")
    if process.current_version_id is None:
        raise Skip(f"process '{process.name}' has no current version")
    check_cap(session, trigger)
    target = choose_target(session, trigger)
    task: TaskRow | None = None
    task_id = request.task_id
    condition = QueueCondition.of(trigger.queue_condition)
    if task_id is None and trigger.queue_id is not None and condition.default_task:
        # The pick must see the tasks earlier fires of this transaction handed over.
        session.flush()
        task = pick_task(session, trigger, condition)
        if task is None and not test:
            raise Skip("no New task in the queue for the job")
        task_id = task.id if task else None
    job = add_job(
        session,
        runtime,
        NewJob(
            account_id=trigger.account_id,
            process=process,
            robot_id=target.robot_id,
            robot_group_id=target.robot_group_id,
            task_id=task_id,
            source=SOURCE,
            priority=trigger.priority,
            parameters=dict(trigger.parameters or {}),
            stop_after=_after(request.now, trigger.stop_after_seconds),
            abort_after=_after(request.now, trigger.abort_after_seconds),
            schedule_id=trigger.id,
        ),
        flush=flush or task is not None,
    )
    if task is not None:
        hand_over(session, trigger, condition, task, job, request.now)
    if not test:
        count_run(trigger, request.now)
    return job, f"job {job.guid} ({target.why})"


def _after(now: datetime, seconds: int | None) -> datetime | None:
    return now + timedelta(seconds=seconds) if seconds else None
