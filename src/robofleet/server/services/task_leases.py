"""Taking tasks with a lease, finishing them with it, renewing it.

A lease has an id, an owner and an expiry. Only the live lease finishes a task; an expired
lease counts as an application failure (services.task_timers), so a task whose taker died is
neither stuck nor processed twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import JobRow, QueueRow, TaskRow
from robofleet.server.domain.errors import Conflict, NotFound, RobofleetError
from robofleet.server.domain.jobs import JobStatus
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import new_guid, parse_ref
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.schemas.base import invalid_input
from robofleet.server.schemas.queues import (
    FinishItem,
    FinishRequest,
    ItemResult,
    ItemResults,
    RenewItem,
    RenewRequest,
    TakeRequest,
    TaskList,
    TaskRead,
)
from robofleet.server.services.caller import Caller
from robofleet.server.services.lookup import find
from robofleet.server.services.queues import find_queue
from robofleet.server.services.runtime import Runtime
from robofleet.server.services.task_filters import next_new_tasks, task_conditions
from robofleet.server.services.task_state import Change, change_task_status
from robofleet.server.services.task_views import task_read, task_reads


class LeaseLost(Conflict):
    def __init__(self, guid: str, why: str) -> None:
        super().__init__(f"task {guid}: {why}; nothing was changed", code="lease_lost")


def lease_owner(caller: Caller) -> str:
    return f"{caller.principal.kind}:{caller.principal.guid}"


def _job_id(session: Session, caller: Caller, job_ref: int | str | None) -> int | None:
    """The job processing the tasks: the one named, or the robot's running job."""
    if job_ref is not None:
        return find(session, JobRow, caller, job_ref, entity="job", field="Job").id
    robot_id = caller.principal.robot_id
    if robot_id is None:
        return None
    return session.scalar(
        select(JobRow.id)
        .where(
            JobRow.robot_id == robot_id,
            JobRow.status.in_([int(JobStatus.IN_PROGRESS), int(JobStatus.STOPPING)]),
        )
        .limit(1)
    )


def grant_lease(
    task: TaskRow, caller: Caller, *, seconds: int, job_id: int | None, now: datetime
) -> None:
    task.lease_id = new_guid()
    task.lease_owner = lease_owner(caller)
    task.lease_robot_id = caller.principal.robot_id
    task.lease_seconds = seconds
    task.lease_expires_at = now + timedelta(seconds=seconds)
    if job_id is not None:
        task.job_id = job_id


def take_tasks(runtime: Runtime, caller: Caller, data: TakeRequest) -> TaskList:
    caller.require(Screen.TASK, Action.UPDATE)
    now = utcnow()
    with runtime.db.write() as session:
        queue = find_queue(session, caller, data.queue)
        job_id = _job_id(session, caller, data.job)
        conditions = task_conditions(
            queue.id,
            tags=data.tags,
            name=data.name,
            priority=data.priority,
            created_after=data.created_after,
        )
        tasks = next_new_tasks(session, conditions, now=now, count=data.count, lock=True)
        seconds = data.lease_seconds or queue.lease_seconds
        change = Change(caller.principal.name, "taken")
        for task in tasks:
            change_task_status(session, task, queue, TaskStatus.IN_PROGRESS, change, now=now)
            grant_lease(task, caller, seconds=seconds, job_id=job_id, now=now)
        session.flush()
        return TaskList(tasks=task_reads(session, tasks, with_lease=True))


def _leased_task(
    session: Session, caller: Caller, ref: int | str, lease_id: str, now: datetime
) -> tuple[TaskRow, QueueRow]:
    parsed = parse_ref(ref)
    column = TaskRow.id if parsed.kind == "id" else TaskRow.guid
    if parsed.kind == "name":
        raise NotFound("task", ref)
    task = session.scalar(
        select(TaskRow)
        .where(
            column == parsed.value,
            TaskRow.account_id == caller.account_id,
            TaskRow.is_deleted.is_(False),
        )
        .with_for_update()
    )
    if task is None:
        raise NotFound("task", ref)
    queue = find_queue(session, caller, task.queue_id)
    if task.status != TaskStatus.IN_PROGRESS or task.lease_id is None:
        raise LeaseLost(task.guid, f"it is {TaskStatus(task.status).label}, not taken")
    if task.lease_id != lease_id.strip().lower():
        raise LeaseLost(task.guid, "the lease belongs to another taker")
    if task.lease_expires_at is not None and task.lease_expires_at <= now:
        raise LeaseLost(task.guid, "the lease has expired")
    return task, queue


def finish_one(session: Session, caller: Caller, item: FinishItem, now: datetime) -> TaskRow:
    task, queue = _leased_task(session, caller, item.guid, item.lease_id, now)
    if "output" in item.model_fields_set:
        task.output = item.output
    if item.error is not None:
        task.error_type = item.error.type
        task.error_message = item.error.message
        task.error_details = item.error.details
    status = TaskStatus(item.status)
    reason = item.error.message[:500] if item.error and item.error.message else "finished"
    change_task_status(session, task, queue, status, Change(caller.principal.name, reason), now=now)
    if status == TaskStatus.POSTPONED:
        task.postponed_until = item.postponed_until
    return task


def finish_tasks(runtime: Runtime, caller: Caller, data: FinishRequest) -> TaskRead | ItemResults:
    """One task (409 unless its lease is live) or many, each judged on its own."""
    caller.require(Screen.TASK, Action.UPDATE)
    now = utcnow()
    items = data.all_items()
    with runtime.db.write() as session:
        if items is None:
            try:
                item = FinishItem.model_validate(
                    data.model_dump(exclude={"items"}, exclude_unset=True)
                )
            except ValidationError as exc:
                raise invalid_input(exc) from None
            return task_read(session, finish_one(session, caller, item, now))
        return ItemResults(results=[_each(session, caller, raw, now) for raw in items])


def _each(session: Session, caller: Caller, raw: dict[str, Any], now: datetime) -> ItemResult:
    guid = str(raw.get("Guid") or raw.get("guid") or raw.get("GUID") or "")
    try:
        item = FinishItem.model_validate(raw)
        with session.begin_nested():
            task = finish_one(session, caller, item, now)
        return ItemResult(guid=task.guid, ok=True)
    except ValidationError as exc:
        return ItemResult(
            guid=guid, ok=False, code="invalid_input", message=invalid_input(exc).message
        )
    except RobofleetError as exc:
        return ItemResult(guid=guid, ok=False, code=exc.code, message=exc.message)


def renew_leases(runtime: Runtime, caller: Caller, data: RenewRequest) -> ItemResults:
    caller.require(Screen.TASK, Action.UPDATE)
    items = (
        data.items
        if data.items is not None
        else [
            RenewItem(
                guid=data.guid or "", lease_id=data.lease_id or "", lease_seconds=data.lease_seconds
            )
        ]
    )
    now = utcnow()
    results = []
    with runtime.db.write() as session:
        for item in items:
            try:
                task, _ = _leased_task(session, caller, item.guid, item.lease_id, now)
            except RobofleetError as exc:
                if data.items is None:
                    raise
                results.append(
                    ItemResult(guid=str(item.guid), ok=False, code=exc.code, message=exc.message)
                )
                continue
            if item.lease_seconds:
                task.lease_seconds = item.lease_seconds
            task.lease_expires_at = now + timedelta(seconds=task.lease_seconds or 300)
            results.append(
                ItemResult(guid=task.guid, ok=True, task=task_read(session, task, with_lease=True))
            )
    return ItemResults(results=results)


def renew_for_robot(
    session: Session, robot_id: int, running_job_id: int | None, now: datetime
) -> int:
    """A robot's heartbeat renews the leases it holds for its running job (or for no job)."""
    job_match = (
        TaskRow.job_id.is_(None)
        if running_job_id is None
        else or_(TaskRow.job_id.is_(None), TaskRow.job_id == running_job_id)
    )
    tasks = session.scalars(
        select(TaskRow).where(
            and_(
                TaskRow.lease_robot_id == robot_id,
                TaskRow.status == int(TaskStatus.IN_PROGRESS),
                job_match,
            )
        )
    ).all()
    for task in tasks:
        task.lease_expires_at = now + timedelta(seconds=task.lease_seconds or 300)
    return len(tasks)
