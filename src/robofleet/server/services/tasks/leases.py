"""Taking tasks with a lease, finishing them with it, renewing it.

A lease has an id, an owner and an expiry. Only the live lease finishes a task; an expired
lease counts as an application failure (services.tasks.timers), so a task whose taker died is
neither stuck nor processed twice. These are the paths robots hit most, so each is a couple
of statements with the queue's settings from a cache; on PostgreSQL a take or finish is one
statement in one round trip where it can be (services.tasks.one_trip); on SQLite take, finish
and renew run as prepared statements on the group writer's connection, without an ORM
session, where they can be (services.tasks.lean_sqlite).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.base import utcnow
from robofleet.server.db.system_actors import TASK_TRAFFIC
from robofleet.server.db.tables import JobRow, TaskRow
from robofleet.server.db.task_statements import TaskIds, TaskLike, TaskRecord
from robofleet.server.domain.errors import Conflict, NotFound, RobofleetError
from robofleet.server.domain.jobs import JobStatus
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.queue_rules import QueueRules
from robofleet.server.domain.refs import is_guid, parse_ref
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.runtime import Runtime
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
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find
from robofleet.server.services.tasks import lean_sqlite, one_trip
from robofleet.server.services.tasks.queues import cached_queue_rules, find_queue, queue_rules
from robofleet.server.services.tasks.state import (
    Change,
    Finish,
    finish_leased_tasks,
    finish_of,
    new_lease,
    only_a_status,
    take_new_tasks,
)
from robofleet.server.services.tasks.views import task_reads


class LeaseLost(Conflict):
    def __init__(self, guid: str, why: str) -> None:
        super().__init__(f"task {guid}: {why}; nothing was changed", code="lease_lost")


def lease_lost(task: TaskRow, lease_id: str) -> LeaseLost:
    """Why `lease_id` did not finish or renew the (loaded) task."""
    if task.finish_lease_id == lease_id:
        return LeaseLost(task.guid, f"this lease already finished it: it is {_label(task)}")
    if task.status != TaskStatus.IN_PROGRESS or task.lease_id is None:
        return LeaseLost(task.guid, f"it is {_label(task)}, not taken")
    if task.lease_id != lease_id:
        return LeaseLost(task.guid, "the lease belongs to another taker")
    return LeaseLost(task.guid, "the lease has expired")


def _label(task: TaskLike) -> str:
    return TaskStatus(task.status).label


def job_for(session: Session, caller: Caller, job_ref: int | str | None) -> int | None:
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


def take_tasks(runtime: Runtime, caller: Caller, data: TakeRequest) -> TaskList:
    caller.require(Screen.TASK, Action.UPDATE)
    now = utcnow()
    if runtime.db.dialect.one_statement_claims and data.job is None:
        queue = cached_queue_rules(runtime, caller, data.queue)
        if queue is not None:  # else the session path below finds it, and caches it
            return _take_in_one_trip(runtime, caller, data, queue, now)
    if runtime.db.raw_writes:
        taken = lean_sqlite.take(runtime, caller, data, now)
        if taken is not None:  # else the session path below answers
            return taken
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        queue = queue_rules(session, runtime, caller, data.queue)
        lease = new_lease(
            caller,
            seconds=data.lease_seconds or queue.lease_seconds,
            job_id=job_for(session, caller, data.job),
        )
        rows = take_new_tasks(
            session,
            _take_filter(queue.id, data),
            queue_id=queue.id,
            count=data.count,
            lease=lease,
            change=Change(caller.principal.name, "taken"),
            now=now,
        )
        return TaskList(
            tasks=task_reads(session, rows, with_lease=True, queue_guids={queue.id: queue.guid})
        )


def _take_filter(queue_id: int, data: TakeRequest) -> list[ColumnElement[bool]] | None:
    """The take's narrowing conditions, or None for a take from the whole queue."""
    if not data.filtered:
        return None
    return statements.filter_conditions(
        queue_id,
        tags=data.tags,
        name=data.name,
        priority=data.priority,
        created_after=data.created_after,
    )


def _take_in_one_trip(
    runtime: Runtime, caller: Caller, data: TakeRequest, queue: QueueRules, now: datetime
) -> TaskList:
    tasks = one_trip.take(
        runtime,
        queue,
        _take_filter(queue.id, data),
        count=data.count,
        lease=new_lease(caller, seconds=data.lease_seconds or queue.lease_seconds, job_id=None),
        link_robot_job=caller.principal.robot_id is not None,
        change=Change(caller.principal.name, "taken"),
        now=now,
    )
    return TaskList(tasks=tasks)


def _task_ids(session: Session, caller: Caller, ref: int | str) -> TaskIds:
    parsed = parse_ref(ref)
    if parsed.kind == "name":
        raise NotFound("task", ref)
    found = statements.task_ids(session, caller.account_id, parsed.kind, parsed.value)
    if found is None:
        raise NotFound("task", ref)
    return found


def _why_not_live(
    session: Session, caller: Caller, ref: int | str, lease_id: str
) -> RobofleetError:
    return lease_lost(_loaded(session, caller, ref), lease_id)


def _loaded(session: Session, caller: Caller, ref: int | str) -> TaskRow:
    task = session.get(TaskRow, _task_ids(session, caller, ref).id)
    assert task is not None
    return task


def finished_alike(task: TaskLike, lease_id: str, finish: Finish) -> bool:
    """Whether `task` is as a finish with `lease_id` and this outcome left it: then a finish
    retried after its answer was lost is answered as the first one was, and changes nothing.
    The outcome is the status, and the Output, Error and PostponedUntil the retry sends
    (a genuine retry sends the same request again, so comparing them costs it nothing and
    refuses a client that changed its mind)."""
    if task.is_deleted or task.finish_lease_id != lease_id or task.status != finish.status:
        return False
    if finish.set_output and task.output != finish.output:
        return False
    error = (finish.error_type, finish.error_message, finish.error_details)
    if any(error) and (task.error_type, task.error_message, task.error_details) != error:
        return False
    return finish.status != TaskStatus.POSTPONED or task.postponed_until == finish.postponed_until


def _earlier_finish(
    session: Session, caller: Caller, ref: int | str, lease_id: str, finish: Finish
) -> TaskRow:
    """The task a finish with this lease and outcome already finished, or the 409 saying
    why this lease cannot finish it."""
    task = _loaded(session, caller, ref)
    if finished_alike(task, lease_id, finish):
        return task
    if task.finish_lease_id == lease_id:
        raise LeaseLost(
            task.guid,
            f"this lease already finished it as {_label(task)}, with another outcome than "
            "this request's",
        )
    raise lease_lost(task, lease_id)


def _task_guid(session: Session, caller: Caller, ref: int | str) -> str:
    """The GUID of the task `ref` names. A caller narrowed to access folders has the
    task's queue checked first; others are scoped by account in the UPDATE itself."""
    parsed = parse_ref(ref)
    if parsed.kind == "name":
        raise NotFound("task", ref)
    if parsed.kind == "id" or caller.principal.folder_ids is not None:
        ids = _task_ids(session, caller, ref)
        find_queue(session, caller, ids.queue_id)
        return ids.guid
    return str(parsed.value)


def _finish_many(
    session: Session,
    runtime: Runtime,
    caller: Caller,
    guids: list[str],
    lease_id: str,
    finish: Finish,
    reason: str,
    now: datetime,
) -> list[TaskRecord]:
    return finish_leased_tasks(
        session,
        guids=guids,
        account_id=caller.account_id,
        lease_id=lease_id,
        finish=finish,
        rules=lambda queue_id: queue_rules(session, runtime, caller, queue_id),
        change=Change(caller.principal.name, reason),
        now=now,
    )


def _finish_one(
    session: Session, runtime: Runtime, caller: Caller, item: FinishItem, now: datetime
) -> TaskLike:
    lease_id = item.lease_id
    finish, reason = finish_of(item)
    guid = _task_guid(session, caller, item.guid)
    rows = _finish_many(session, runtime, caller, [guid], lease_id, finish, reason, now)
    if not rows:
        return _earlier_finish(session, caller, item.guid, lease_id, finish)
    return rows[0]


def finish_tasks(runtime: Runtime, caller: Caller, data: FinishRequest) -> TaskRead | ItemResults:
    """One task (409 unless its lease is live) or many, each judged on its own. A finish
    repeated with the same lease and outcome is answered again and changes nothing."""
    caller.require(Screen.TASK, Action.UPDATE)
    now = utcnow()
    items = data.all_items()
    item: FinishItem | None = None
    if items is None:
        try:
            item = data.one_item()
        except ValidationError as exc:
            raise invalid_input(exc) from None
        if runtime.db.dialect.one_statement_claims:
            done = _finish_in_one_trip(runtime, caller, item, now)
            if done is not None:  # else the session path tells why, or answers a retry
                return done
        elif runtime.db.raw_writes:
            done = lean_sqlite.finish(runtime, caller, item, now)
            if done is not None:  # else the session path tells why, or answers a retry
                return done
    elif runtime.db.raw_writes:
        batch = lean_sqlite.finish_batch(runtime, caller, items, now)
        if batch is not None:  # else the session path judges each item
            return batch
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        if item is not None:
            row = _finish_one(session, runtime, caller, item, now)
            queue = queue_rules(session, runtime, caller, row.queue_id)
            return task_reads(session, [row], queue_guids={queue.id: queue.guid})[0]
        assert items is not None
        return ItemResults(results=_finish_batch(session, runtime, caller, items, now))


def _finish_in_one_trip(
    runtime: Runtime, caller: Caller, item: FinishItem, now: datetime
) -> TaskRead | None:
    plan = one_statement_finish(caller, item)
    return None if plan is None else one_trip.finish(runtime, plan, now)


def one_statement_finish(caller: Caller, item: FinishItem) -> one_trip.OneFinish | None:
    """The finish as one statement, when it can be: the task named by GUID, the caller not
    narrowed to access folders (_task_guid). A failure its queue retries changes nothing
    there (state.one_statement_shape): the session path finishes it and makes the retry."""
    finish, reason = finish_of(item)
    if not (is_guid(str(item.guid)) and caller.principal.folder_ids is None):
        return None
    return one_trip.OneFinish(
        guid=str(item.guid).strip().lower(),
        account_id=caller.account_id,
        lease_id=item.lease_id,
        finish=finish,
        change=Change(caller.principal.name, reason),
    )


def _finish_batch(
    session: Session,
    runtime: Runtime,
    caller: Caller,
    raw_items: list[dict[str, Any]],
    now: datetime,
) -> list[ItemResult]:
    """Each item judged on its own. Plain finishes (same status and lease, no output or
    error) go in one statement per group; the rest one by one."""
    results: dict[int, ItemResult] = {}
    groups: dict[tuple[int, str], list[tuple[int, FinishItem]]] = {}
    for index, raw in enumerate(raw_items):
        guid = str(raw.get("Guid") or raw.get("guid") or raw.get("GUID") or "")
        try:
            item = FinishItem.model_validate(raw)
            plain = (
                only_a_status(item)
                and is_guid(str(item.guid))
                and caller.principal.folder_ids is None
            )
            if plain:
                key = (item.status, item.lease_id)
                groups.setdefault(key, []).append((index, item))
                continue
            row = _finish_one(session, runtime, caller, item, now)
            results[index] = ItemResult(guid=row.guid, ok=True)
        except ValidationError as exc:
            results[index] = ItemResult(
                guid=guid, ok=False, code="invalid_input", message=invalid_input(exc).message
            )
        except RobofleetError as exc:
            results[index] = ItemResult(guid=guid, ok=False, code=exc.code, message=exc.message)
    for (status, lease_id), members in groups.items():
        guids = [str(item.guid).strip().lower() for _, item in members]
        finish = Finish(status=TaskStatus(status))
        done = {
            row.guid
            for row in _finish_many(
                session, runtime, caller, guids, lease_id, finish, "finished", now
            )
        }
        for index, item in members:
            guid = str(item.guid).strip().lower()
            if guid in done:
                results[index] = ItemResult(guid=guid, ok=True)
                continue
            try:
                _earlier_finish(session, caller, item.guid, lease_id, finish)
                results[index] = ItemResult(guid=guid, ok=True)
            except RobofleetError as error:
                results[index] = ItemResult(
                    guid=guid, ok=False, code=error.code, message=error.message
                )
    return [results[index] for index in range(len(raw_items))]


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
    if runtime.db.raw_writes:
        renewed = lean_sqlite.renew(runtime, caller, items, now)
        if renewed is not None:  # else the session path below answers, or tells why not
            return renewed
    results = []
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        for item in items:
            try:
                results.append(_renew(session, caller, item, now))
            except RobofleetError as exc:
                if data.items is None:
                    raise
                results.append(
                    ItemResult(guid=str(item.guid), ok=False, code=exc.code, message=exc.message)
                )
    return ItemResults(results=results)


def _renew(session: Session, caller: Caller, item: RenewItem, now: datetime) -> ItemResult:
    ids = _task_ids(session, caller, item.guid)
    lease_id = item.lease_id
    task = statements.live_leased_task(session, ids.id, lease_id, now)
    if task is None:
        raise _why_not_live(session, caller, item.guid, lease_id)
    if item.lease_seconds:
        task.lease_seconds = item.lease_seconds
    task.lease_expires_at = now + timedelta(seconds=task.lease_seconds or 300)
    session.flush()
    return ItemResult(guid=ids.guid, ok=True, task=task_reads(session, [task], with_lease=True)[0])


def renew_for_robot(
    session: Session, robot_id: int, running_job_id: int | None, now: datetime
) -> int:
    """A robot's heartbeat renews the leases it holds for its running job (or for no job)."""
    renewed = 0
    for task_id, seconds, job_id in statements.leases_of_robot(session, robot_id):
        if job_id is None or job_id == running_job_id:
            statements.extend_lease(session, task_id, now + timedelta(seconds=seconds or 300))
            renewed += 1
    return renewed
