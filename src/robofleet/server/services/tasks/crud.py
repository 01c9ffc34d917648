"""Tasks: add (one or in bulk), read, filter, update, delete, tags and history."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.base import utcnow
from robofleet.server.db.system_actors import TASK_TRAFFIC
from robofleet.server.db.tables import JobRow, QueueRow, TaskEventRow, TaskRow
from robofleet.server.db.tables.queues import NO_DEADLINE
from robofleet.server.db.task_statements import NewTask
from robofleet.server.domain.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
)
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.principals import PrincipalKind
from robofleet.server.domain.refs import parse_ref
from robofleet.server.domain.tasks import (
    FINISHES,
    TaskStatus,
    normalize_tags,
    stored_tags,
    tags_of,
)
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import ResultResponse, invalid_input
from robofleet.server.schemas.queues import (
    BulkCreate,
    BulkCreated,
    BulkFailure,
    TagChange,
    TaskCreate,
    TaskEvent,
    TaskFilter,
    TaskItem,
    TaskRead,
    TaskUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find
from robofleet.server.services.tasks.filters import filter_from
from robofleet.server.services.tasks.idempotency import (
    AddName,
    checked_key,
    earlier_adds,
    item_key,
    replayed,
    request_digest,
)
from robofleet.server.services.tasks.leases import job_for, lease_lost, lease_owner, new_lease
from robofleet.server.services.tasks.queues import find_queue, queue_rules
from robofleet.server.services.tasks.state import (
    Change,
    Finish,
    add_tasks,
    change_task_status,
    finish_leased_tasks,
    new_task,
    take_new_tasks,
    take_rank,
)
from robofleet.server.services.tasks.views import task_read, task_reads


def _taken_names(session: Session, queue: QueueRow, names: list[str]) -> set[str]:
    if not queue.unique_tasks or not names:
        return set()
    return statements.taken_names(session, queue.id, names)


def _duplicate(queue: QueueRow, name: str) -> Conflict:
    return Conflict(
        f"queue '{queue.name}' already has a task named '{name}' and demands unique names",
        code="duplicate_task_name",
    )


def create_task(
    runtime: Runtime, caller: Caller, data: TaskCreate, *, idempotency_key: str | None = None
) -> TaskRead:
    """Add a task. An add named by an idempotency key or the client's task GUID that an
    earlier attempt already made answers with that task (services.tasks.idempotency)."""
    caller.require(Screen.TASK, Action.CREATE)
    name = AddName(checked_key(idempotency_key), data.guid)
    now = utcnow()
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        queue = find_queue(session, caller, data.queue)
        digest = request_digest(queue.id, data.name, data, data.guid) if name.given else None
        earlier = _earlier_add(session, caller, name, digest)
        if earlier is not None:
            return task_read(session, earlier)
        if _taken_names(session, queue, [data.name]):
            raise _duplicate(queue, data.name)
        row = new_task(
            queue,
            data.name,
            data,
            now,
            guid=data.guid,
            idempotency_key=name.key,
            request_digest=digest,
        )
        try:
            with session.begin_nested():
                add_tasks(session, [row], Change(caller.principal.name, "added"), now)
        except IntegrityError:
            # A concurrent attempt of the same add won the race, or took the name.
            earlier = _earlier_add(session, caller, name, digest)
            if earlier is not None:
                return task_read(session, earlier)
            raise _duplicate(queue, data.name) from None
        task = statements.find_task(
            session, caller.account_id, "guid", row["guid"], for_update=False
        )
        assert task is not None
        return task_read(session, task)


def _earlier_add(
    session: Session, caller: Caller, name: AddName, digest: str | None
) -> TaskRow | None:
    if digest is None:
        return None
    earlier = earlier_adds(session, caller.account_id, [name])[0]
    return None if earlier is None else replayed(earlier, caller.account_id, name, digest)


def bulk_create(
    runtime: Runtime, caller: Caller, data: BulkCreate, *, idempotency_key: str | None = None
) -> BulkCreated:
    """Up to 10,000 tasks: all or nothing, or each on its own (failures listed). Items an
    earlier attempt of this add already added (same key or task GUID) are not added again."""
    caller.require(Screen.TASK, Action.CREATE)
    key = checked_key(idempotency_key)
    now = utcnow()
    failed: list[BulkFailure] = []
    good: list[tuple[int, TaskItem]] = []
    problems: list[FieldProblem] = []
    for index, raw in enumerate(data.tasks):
        try:
            good.append((index, TaskItem.model_validate(raw)))
        except ValidationError as exc:
            refused = invalid_input(exc)
            problems += [
                FieldProblem(f"Tasks[{index}].{p.field}", p.problem) for p in refused.details
            ]
            problem = refused.message
            name = raw.get("Name", raw.get("name")) if isinstance(raw, dict) else None
            failed.append(
                BulkFailure(
                    index=index,
                    name=str(name) if name else None,
                    code="invalid_input",
                    message=problem,
                )
            )
    if failed and data.mode == "all_or_nothing":
        # Bad input is refused as such (422, naming each field) before anything is looked up.
        raise InvalidInput(
            f"{len(failed)} of {len(data.tasks)} tasks are refused, so none was added; "
            f"first: task {failed[0].index}: {failed[0].message}",
            details=problems,
        )
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        queue = find_queue(session, caller, data.queue)
        added: dict[int, str] = {}  # item index -> task GUID, added earlier or now
        digests: dict[int, str] = {}
        good = _without_earlier_adds(
            session, caller, queue, key, good, digests=digests, added=added, failed=failed
        )
        taken = _taken_names(session, queue, [item.name for _, item in good])
        seen: set[str] = set()
        rows: list[NewTask] = []
        for index, item in good:
            if queue.unique_tasks and (item.name in taken or item.name in seen):
                failed.append(
                    BulkFailure(
                        index=index,
                        name=item.name,
                        code="duplicate_task_name",
                        message=_duplicate(queue, item.name).message,
                    )
                )
                continue
            seen.add(item.name)
            row = new_task(
                queue,
                item.name,
                item,
                now,
                guid=item.guid,
                idempotency_key=item_key(key, index),
                request_digest=digests.get(index),
            )
            rows.append(row)
            added[index] = row["guid"]
        if failed and data.mode == "all_or_nothing":
            failed.sort(key=lambda f: f.index)
            raise InvalidInput(
                f"{len(failed)} of {len(data.tasks)} tasks are refused, so none "
                f"was added; first: task {failed[0].index}: {failed[0].message}"
            )
        if rows:
            try:
                with session.begin_nested():
                    add_tasks(session, rows, Change(caller.principal.name, "added"), now)
            except IntegrityError:
                # A concurrent add took a name, key or GUID between our check and our insert.
                raise Conflict(
                    "a concurrent add took one of these unique names, keys or GUIDs; nothing "
                    "was added, send them again",
                    code="duplicate_task_name",
                ) from None
        failed.sort(key=lambda f: f.index)
        return BulkCreated(
            created=len(added),
            guids=[added[index] for index in sorted(added)],
            failed=failed,
            existing=len(added) - len(rows),
        )


def _without_earlier_adds(
    session: Session,
    caller: Caller,
    queue: QueueRow,
    key: str | None,
    items: list[tuple[int, TaskItem]],
    *,
    digests: dict[int, str],
    added: dict[int, str],
    failed: list[BulkFailure],
) -> list[tuple[int, TaskItem]]:
    """The items still to add: those an earlier attempt added go to `added`, those whose
    key or GUID names other content (or whose GUID repeats in this call) to `failed`."""
    names = {index: AddName(item_key(key, index), item.guid) for index, item in items}
    named = [(index, item) for index, item in items if names[index].given]
    earlier = earlier_adds(session, caller.account_id, [names[index] for index, _ in named])
    refused: set[int] = set()
    guids: set[str] = set()
    for (index, item), task in zip(named, earlier, strict=True):
        digests[index] = request_digest(queue.id, item.name, item, item.guid)
        problem: Conflict | None = None
        if item.guid is not None and item.guid in guids:
            problem = Conflict(f"task GUID {item.guid} is given twice", code="duplicate_guid")
        elif task is not None:
            try:
                added[index] = replayed(task, caller.account_id, names[index], digests[index]).guid
            except Conflict as exc:
                problem = exc
        if item.guid is not None:
            guids.add(item.guid)
        if problem is not None:
            refused.add(index)
            failed.append(
                BulkFailure(index=index, name=item.name, code=problem.code, message=problem.message)
            )
    return [(i, item) for i, item in items if i not in added and i not in refused]


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
    runtime: Runtime, caller: Caller, queue_ref: int | str, fields: TaskFilter
) -> list[TaskRead]:
    caller.require(Screen.TASK, Action.READ)
    with runtime.db.read() as session:
        queue = find_queue(session, caller, queue_ref)
        filters = filter_from(fields)
        if names_queue(fields.name, queue):
            filters["name"] = None  # Sherpa's documented body: `Name` is the queue's
        conditions = statements.filter_conditions(queue.id, **filters)
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


def last_task(runtime: Runtime, caller: Caller, queue_ref: int | str) -> TaskRead:
    """Sherpa's lastTask: the next New task in take order, not taken (set Status 1 with
    task/update to take it; that update is atomic)."""
    return filter_read(runtime, caller, queue_ref, TaskFilter())


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
        if lease_id.strip().lower() != task.lease_id:
            raise lease_lost(task, lease_id.strip().lower())
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
