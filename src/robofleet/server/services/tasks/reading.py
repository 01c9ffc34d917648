"""Reading tasks: by reference, through Sherpa's filter paths, the last one, their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.base import utcnow
from robofleet.server.db.system_actors import TASK_TRAFFIC
from robofleet.server.db.tables import QueueRow, TaskRow
from robofleet.server.domain.errors import (
    InvalidInput,
    NotFound,
)
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import parse_ref
from robofleet.server.domain.tasks import (
    TaskStatus,
)
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.queues import (
    TaskEvent,
    TaskFilter,
    TaskRead,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.tasks.filters import filter_from
from robofleet.server.services.tasks.leases import job_for
from robofleet.server.services.tasks.queues import find_queue
from robofleet.server.services.tasks.state import (
    Change,
    new_lease,
    take_new_tasks,
)
from robofleet.server.services.tasks.views import task_read, task_reads


def find_task(
    session: Session,
    caller: Caller,
    ref: int | str,
    *,
    field: str = "Guid",
    for_update: bool = False,
) -> tuple[TaskRow, QueueRow]:
    """A task by id, GUID or name (the newest of that name); its queue decides visibility."""
    parsed = parse_ref(ref, field=field)
    task = statements.find_task(
        session, caller.account_id, parsed.kind, parsed.value, for_update=for_update
    )
    if task is None:
        raise NotFound("task", ref)
    try:
        queue = find_queue(session, caller, task.queue_id, field=field)
    except NotFound:
        raise NotFound("task", ref) from None
    return task, queue


def read_task(runtime: Runtime, caller: Caller, ref: int | str) -> TaskRead:
    caller.require(Screen.TASK, Action.READ)
    with runtime.db.read() as session:
        return task_read(session, find_task(session, caller, ref)[0])


def filter_list(
    runtime: Runtime,
    caller: Caller,
    queue_ref: int | str,
    fields: TaskFilter,
    *,
    created_before: datetime | None = None,
) -> list[TaskRead]:
    """Tasks matching, newest first; `created_before` closes a period that `CreatedAfter`
    opens (the web's task filter)."""
    caller.require(Screen.TASK, Action.READ)
    with runtime.db.read() as session:
        queue = find_queue(session, caller, queue_ref)
        filters = filter_from(fields)
        if names_queue(fields.name, queue):
            filters["name"] = None  # Sherpa's documented body: `Name` is the queue's
        conditions = statements.filter_conditions(
            queue.id, **filters, created_before=created_before
        )
        tasks = statements.newest_tasks(
            session, conditions, offset=fields.offset, count=fields.count
        )
        return task_reads(session, tasks)


def names_queue(name: str | None, queue: QueueRow) -> bool:
    """Sherpa documents filter/list's `Name` as the queue's GUID or name: such a `Name` is
    not a task-name filter."""
    if not name:
        return False
    return name.strip().lower() in (queue.guid.lower(), queue.name.lower())


def filter_read(
    runtime: Runtime, caller: Caller, queue_ref: int | str, fields: TaskFilter
) -> TaskRead:
    """The first task matching, in take order; with `take`, taken with a lease at once."""
    caller.require(Screen.TASK, Action.UPDATE if fields.take else Action.READ)
    now = utcnow()
    with runtime.db.write(actor=TASK_TRAFFIC) if fields.take else runtime.db.read() as session:
        queue = find_queue(session, caller, queue_ref)
        filters = filter_from(fields)
        filters["status"] = None  # the statuses are chosen below
        conditions = statements.filter_conditions(queue.id, **filters)
        statuses = fields.status or [int(TaskStatus.NEW)]
        if fields.take:
            if statuses != [int(TaskStatus.NEW)] or fields.offset:
                raise InvalidInput.for_field(
                    "take", "takes the first New task: no other status and no offset"
                )
            lease = new_lease(
                caller, seconds=queue.lease_seconds, job_id=job_for(session, caller, None)
            )
            rows = take_new_tasks(
                session,
                conditions,
                queue_id=queue.id,
                count=1,
                lease=lease,
                change=Change(caller.principal.name, "taken"),
                now=now,
            )
            if not rows:
                raise NotFound(f"New task matching the filters in queue '{queue.name}'", "")
            return task_reads(session, rows, with_lease=True)[0]
        if statuses == [int(TaskStatus.NEW)]:
            found = statements.next_new_tasks(session, conditions, count=fields.offset + 1)
        else:
            found = statements.oldest_tasks_in(
                session, conditions, statuses, count=fields.offset + 1
            )
        if len(found) <= fields.offset:
            raise NotFound(f"task matching the filters in queue '{queue.name}'", "")
        return task_read(session, found[fields.offset])


def last_task(
    runtime: Runtime, caller: Caller, queue_ref: int | str, status: list[int] | None = None
) -> TaskRead:
    """Sherpa's lastTask: the next New task in take order (or the oldest task of another
    status the framework asks for), not taken (set Status 1 with task/update to take it;
    that update is atomic)."""
    return filter_read(runtime, caller, queue_ref, TaskFilter(status=status))


def task_history(runtime: Runtime, caller: Caller, ref: int | str) -> list[TaskEvent]:
    caller.require(Screen.TASK, Action.READ)
    with runtime.db.read() as session:
        task, _ = find_task(session, caller, ref)
        events = statements.history(session, task.id)
        return [
            TaskEvent(
                from_status=e.from_status,
                to_status=e.to_status,
                from_name=TaskStatus(e.from_status).label if e.from_status is not None else None,
                to_name=TaskStatus(e.to_status).label,
                actor=e.actor,
                reason=e.reason,
                at=e.at,
            )
            for e in events
        ]
