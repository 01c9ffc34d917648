"""Changing tasks: fields and status through Sherpa's update, delete, tags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.base import utcnow
from robofleet.server.db.system_actors import TASK_TRAFFIC
from robofleet.server.db.tables import JobRow, QueueRow, TaskEventRow, TaskRow
from robofleet.server.db.tables.queues import NO_DEADLINE
from robofleet.server.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
)
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.principals import PrincipalKind
from robofleet.server.domain.refs import lease_key
from robofleet.server.domain.tasks import (
    FINISHES,
    TaskStatus,
    normalize_tags,
    stored_tags,
    tags_of,
)
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import ResultResponse
from robofleet.server.schemas.queues import (
    TagChange,
    TaskUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find
from robofleet.server.services.tasks.leases import job_for, lease_lost
from robofleet.server.services.tasks.queues import find_queue, queue_rules
from robofleet.server.services.tasks.reading import find_task
from robofleet.server.services.tasks.state import (
    Change,
    Finish,
    change_task_status,
    finish_leased_tasks,
    lease_owner,
    new_lease,
    take_new_tasks,
    take_rank,
)


def update_task(runtime: Runtime, caller: Caller, data: TaskUpdate) -> None:
    caller.require(Screen.TASK, Action.UPDATE)
    now = utcnow()
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        task, queue = find_task(session, caller, data.guid, for_update=True)
        if data.status is not None:
            _refuse_late_finish(session, caller, task, TaskStatus(data.status))
        _update_fields(session, caller, task, queue, data)
        # In Progress is a take: it must fail when someone else took the task first.
        if data.status is not None and (
            data.status != task.status or data.status == TaskStatus.IN_PROGRESS
        ):
            _update_status(session, runtime, caller, task, queue, data, now)
        task.updated_at = now


ACCOUNT_KEY: PrincipalKind = "account_key"

SHERPA_ABANDON_SECONDS = 24 * 3600
"""Sherpa abandons a task left In Progress after `cron_task_abandoned_interval` (24 h)."""


def sherpa_hold_seconds(queue: QueueRow) -> int:
    """How long a take through Sherpa's `task/update Status 1` holds the task: the queue's
    In Progress abandon timer, else Sherpa's 24 h. Sherpa has no leases, so its clients never
    renew; the short robot lease of /api/task/take would expire under them."""
    minutes = queue.abandon_in_progress_minutes
    return max(1, round(minutes * 60)) if minutes else SHERPA_ABANDON_SECONDS


def _refuse_late_finish(
    session: Session, caller: Caller, task: TaskRow, status: TaskStatus
) -> None:
    """A finish reports the outcome of a take. Once that take is over (the task expired,
    failed, was abandoned or retried, or another finish ended it) a finish is refused and
    changes nothing: accepting it would let the work count twice. The same finish sent
    again by the one who made it is answered as done (idempotent). A task that is New again
    (set so by hand, or released) is not a take's outcome: an operator may set its status."""
    if (
        status not in FINISHES
        or task.status in (TaskStatus.IN_PROGRESS, TaskStatus.NEW)
        or task.started_at is None
    ):
        return
    last = session.scalars(
        select(TaskEventRow).where(TaskEventRow.task_id == task.id).order_by(TaskEventRow.id.desc())
    ).first()
    if (
        last is not None
        and task.status == status
        and last.to_status == int(status)
        and last.actor == caller.principal.name[:300]
    ):
        return
    retry = session.scalar(
        select(TaskRow.guid).where(TaskRow.parent_task_id == task.id).order_by(TaskRow.id.desc())
    )
    why = f" ({task.error_type}: {task.error_message})" if task.error_type else ""
    raise Conflict(
        f"task {task.guid} is {TaskStatus(task.status).label}{why}, no longer In Progress; "
        f"this {status.label} was refused and nothing changed"
        + (f"; it was retried as task {retry}" if retry else ""),
        code="task_not_in_progress",
    )


def _update_fields(
    session: Session, caller: Caller, task: TaskRow, queue: QueueRow, data: TaskUpdate
) -> None:
    if data.queue is not None:
        target = find_queue(session, caller, data.queue)
        if target.id != queue.id:
            task.queue_id = target.id
            task.unique_name = task.name if target.unique_tasks else None
    for name in ("description", "comment", "parameters", "retries"):
        value = getattr(data, name)
        if value is not None:
            setattr(task, name, value)
    if data.priority is not None:
        task.priority = data.priority
    if data.name is not None and data.name != task.name:
        task.name = data.name
        task.unique_name = data.name if queue.unique_tasks else None
        if queue.unique_tasks and statements.name_taken_by_other(
            session, task.queue_id, data.name, task.id
        ):
            raise Conflict(
                f"queue '{queue.name}' already has a task named '{data.name}'",
                code="duplicate_task_name",
            )
    if data.tags is not None:
        task.tags = stored_tags(normalize_tags(data.tags))
    if "deadline" in data.model_fields_set:
        task.deadline = data.deadline
        task.deadline_key = data.deadline or NO_DEADLINE
    task.rank = take_rank(task.priority, task.deadline, utcnow())
    if "output" in data.model_fields_set:
        task.output = data.output
    if data.job is not None:
        task.job_id = find(session, JobRow, caller, data.job, entity="job", field="Job").id


def _update_status(
    session: Session,
    runtime: Runtime,
    caller: Caller,
    task: TaskRow,
    queue: QueueRow,
    data: TaskUpdate,
    now: datetime,
) -> None:
    """Sherpa clients set statuses with update: New -> In Progress takes the task (atomic);
    the lease holder finishes it; an operator may set any status by hand."""
    status = TaskStatus(data.status or TaskStatus.NEW)
    if status == TaskStatus.IN_PROGRESS:
        lease = new_lease(
            caller, seconds=sherpa_hold_seconds(queue), job_id=job_for(session, caller, data.job)
        )
        taken = take_new_tasks(
            session,
            statements.only_task(task.id),
            queue_id=task.queue_id,
            count=1,
            lease=lease,
            change=Change(caller.principal.name, "taken"),
            now=now,
        )
        if not taken:
            raise Conflict(
                f"task {task.guid} is {TaskStatus(task.status).label}; only a New "
                "task can be taken",
                code="task_taken",
            )
        return
    if status in FINISHES and _holds(caller, task, data.lease_id):
        lease_id = task.lease_id or ""
        finished = finish_leased_tasks(
            session,
            guids=[task.guid],
            account_id=caller.account_id,
            lease_id=lease_id,
            finish=Finish(status=status, postponed_until=data.postponed_until or now),
            rules=lambda queue_id: queue_rules(session, runtime, caller, queue_id),
            change=Change(caller.principal.name, "finished"),
            now=now,
        )
        if not finished:
            raise lease_lost(task, lease_id)
        return
    if caller.principal.robot_id is not None and task.status == TaskStatus.IN_PROGRESS:
        raise Forbidden(f"task {task.guid} is held by another taker", reason="not_lease_holder")
    if status == TaskStatus.POSTPONED:
        if data.postponed_until is None:
            raise InvalidInput.for_field("PostponedUntil", "is required with Status 5")
        task.postponed_until = data.postponed_until
    change_task_status(
        session,
        task,
        queue,
        status,
        Change(caller.principal.name, "set by hand", manual=True),
        now=now,
    )
    if status == TaskStatus.POSTPONED:
        task.postponed_until = data.postponed_until


def _holds(caller: Caller, task: TaskRow, lease_id: str | None) -> bool:
    """Whether the caller may finish the task In Progress as its taker: with its lease id,
    as the one who took it, or as a robot of the account when the account key took it
    (Sherpa lets any robot of the account finish such a task). A lease id that is not the
    task's says otherwise: 409, nothing changes."""
    if task.status != TaskStatus.IN_PROGRESS:
        return False
    if lease_id and lease_id.strip():
        named = lease_key(lease_id)
        if named != task.lease_id:
            raise lease_lost(task, named)
        return True
    if task.lease_owner == lease_owner(caller):
        return True
    taken_by_key = (task.lease_owner or "").startswith(f"{ACCOUNT_KEY}:")
    return taken_by_key and caller.principal.robot_id is not None


def delete_task(runtime: Runtime, caller: Caller, ref: int | str) -> ResultResponse:
    caller.require(Screen.TASK, Action.DELETE)
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        task, _ = find_task(session, caller, ref, for_update=True)
        task.is_deleted = True
        task.updated_at = utcnow()
        return ResultResponse()


def change_tags(runtime: Runtime, caller: Caller, data: TagChange, *, add: bool) -> None:
    caller.require(Screen.TASK, Action.UPDATE)
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        task, _ = find_task(session, caller, data.task_guid, field="TaskGuid", for_update=True)
        current = tags_of(task.tags)
        given = normalize_tags(data.tag_names)
        if add:
            current = normalize_tags(current + given)
        elif "*" in given:
            current = []
        else:
            current = [t for t in current if t not in given]
        task.tags = stored_tags(current)
        task.updated_at = utcnow()
