"""SQLite's take, finish and renew without the ORM: the same guarded moves as
services.tasks.state, run as prepared statements on the group writer's bare connection
(Database.raw_write), each request in its own savepoint of the group's transaction.

The ORM session around a couple of statements cost more than the statements (about 1.6 ms
of a take's server CPU). Each function here answers the common case and returns None for
anything else, with nothing changed; services.tasks.leases then runs its session path, which
is the reference: a take filtering by more than take_filters.MAX_TAGS tags, a queue not
cached yet, a job not found, a failure outcome (it may create a retry task), a
folder-narrowed caller, a finish or renew that changes nothing (the session path tells why,
or answers a repeated finish).

A take or finish comes in three pieces: its plan (checks, cached rules, the lease: no
database), its write (the statements, in the writer's turn) and its answer (rendered from what
the write read). The front runs only the write on SQLite's write lane (services.tasks.on_lane),
the lane being the one thread every write of the server queues for; leases runs all three.

None of these writes does after-commit work on the session path either: tasks are not
audited (TASK_TRAFFIC) and no cache watches them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from robofleet.server.db import task_statements as statements
from robofleet.server.db.raw_write import RawWrite
from robofleet.server.db.task_statements import raw
from robofleet.server.db.task_statements.records import (
    FinishedTask,
    TaskMove,
    TaskRecord,
    take_order_key,
)
from robofleet.server.db.task_statements.take_filters import FilterShape
from robofleet.server.domain.errors import RobofleetError
from robofleet.server.domain.queue_rules import QueueRules
from robofleet.server.domain.refs import Ref, classify_ref, is_guid
from robofleet.server.domain.tasks import TaskStatus, check_transition
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.queues import (
    FinishItem,
    ItemResult,
    ItemResults,
    RenewItem,
    TakeRequest,
    TaskList,
    TaskRead,
    plain_finish,
)
from robofleet.server.schemas.rendered import RenderedJson
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.tasks.filters import take_filter
from robofleet.server.services.tasks.queues import cached_queue_by_id, cached_queue_rules
from robofleet.server.services.tasks.state import (
    Change,
    Finish,
    finish_of,
    finish_params,
    new_lease,
    one_statement_shape,
    only_a_status,
    take_params,
    task_move,
)
from robofleet.server.services.tasks.views import task_list_json, task_reads


class _Fallback(Exception):
    """The session path answers this request: undo this path's work (its savepoint)."""


def _id_or_guid(ref: object) -> Ref | None:
    """The reference as an id or GUID (canonical, as parse_ref gives it), or None."""
    try:
        parsed = classify_ref(ref)  # type: ignore[arg-type]
    except ValueError:
        return None
    return parsed if parsed.kind != "name" else None


def _kind(ref: Ref) -> Literal["id", "guid"]:
    return "id" if ref.kind == "id" else "guid"


def _allowed(from_status: TaskStatus, to_status: TaskStatus) -> bool:
    try:
        check_transition(from_status, to_status, manual=False)
    except RobofleetError:
        return False
    return True


@dataclass(frozen=True)
class TakePlan:
    """A lean take settled before its turn on the writer: everything but its statements."""

    queue: QueueRules
    shape: FilterShape | None
    filter_values: dict[str, Any]
    job_ref: Ref | None
    count: int
    lease_seconds: int
    change: Change
    now: datetime


@dataclass(frozen=True)
class Written:
    """The tasks a lean write changed, with the GUIDs of what their answers link to (read
    in the write's turn): the answers are rendered after it (reads), off the writer."""

    rows: list[TaskRecord]
    queue_guids: dict[int, str]
    job_guids: dict[int, str]
    parent_guids: dict[int, str]

    def json(self, *, with_lease: bool) -> RenderedJson:
        """reads' TaskList, rendered."""
        return task_list_json(self.rows, with_lease=with_lease, **self._links())

    def reads(self, *, with_lease: bool) -> list[TaskRead]:
        """The tasks in the read shape, their links named by the GUIDs read."""
        return task_reads(None, self.rows, with_lease=with_lease, **self._links())

    def _links(self) -> dict[str, dict[int, str]]:
        return {
            "queue_guids": self.queue_guids,
            "job_guids": self.job_guids,
            "parent_guids": self.parent_guids,
        }


Outcome = TypeVar("Outcome")


def in_own_write(runtime: Runtime, write: Callable[..., Outcome], *args: Any) -> Outcome | None:
    """`write(raw_write, *args)` in a raw write of its own (joining the writer's held turn on
    the write lane); None, with nothing of it kept, where it leaves the request to the
    session path."""
    try:
        with runtime.db.raw_write() as raw_write:
            return write(raw_write, *args)
    except _Fallback:
        return None


def plan_take(
    runtime: Runtime, caller: Caller, data: TakeRequest, now: datetime
) -> TakePlan | None:
    """The take leases.take_tasks's session path makes, for a cached queue, filtered or not;
    None for a request the lean take leaves to it."""
    narrowed = take_filter(data)
    if narrowed is None:
        return None
    shape, filter_values = narrowed
    queue = cached_queue_rules(runtime, caller, data.queue)
    job_ref = None if data.job is None else _id_or_guid(data.job)
    if queue is None or (data.job is not None and job_ref is None):
        return None
    if not _allowed(TaskStatus.NEW, TaskStatus.IN_PROGRESS):
        return None
    return TakePlan(
        queue=queue,
        shape=shape,
        filter_values=filter_values,
        job_ref=job_ref,
        count=data.count,
        lease_seconds=data.lease_seconds or queue.lease_seconds,
        change=Change(caller.principal.name, "taken"),
        now=now,
    )


def write_take(write: RawWrite, runtime: Runtime, caller: Caller, plan: TakePlan) -> Written:
    """The take's statements: the tasks leased, their history, the GUIDs they link to."""
    job_id, job_guids = _job(write, caller, plan.job_ref)
    lease = new_lease(caller, seconds=plan.lease_seconds, job_id=job_id)
    params = {**take_params(plan.queue.id, plan.count, lease, plan.now), **plan.filter_values}
    statement = statements.take_from_queue(runtime.db.dialect, plan.shape)
    rows = [TaskRecord._make(row) for row in write.rows(statement, params)]
    rows.sort(key=take_order_key)
    taken = task_move(TaskStatus.NEW, TaskStatus.IN_PROGRESS, plan.change, plan.now)
    _record_moves(write, rows, taken)
    return _linked(write, rows, {plan.queue.id: plan.queue.guid}, job_guids)


def take(runtime: Runtime, caller: Caller, data: TakeRequest, now: datetime) -> TaskList | None:
    """leases.take_tasks's session path for a take from a cached queue, filtered or not."""
    plan = plan_take(runtime, caller, data, now)
    written = None if plan is None else in_own_write(runtime, write_take, runtime, caller, plan)
    return None if written is None else TaskList(tasks=written.reads(with_lease=True))


def _job(write: RawWrite, caller: Caller, ref: Ref | None) -> tuple[int | None, dict[int, str]]:
    """leases.job_for: the job named (the session path says why one is not found), or the
    robot's running job; with the GUIDs learnt on the way."""
    robot_id = caller.principal.robot_id
    if ref is not None:
        found = write.rows(
            raw.job_by_ref(_kind(ref), own_only=robot_id is not None),
            {"p_account_id": caller.account_id, "p_ref": ref.value, "p_robot_id": robot_id},
        )
        if not found:
            raise _Fallback
        job_id, guid = found[0]
        return job_id, {job_id: guid}
    if robot_id is None:
        return None, {}
    running = write.rows(raw.running_job_of_robot(), {"p_robot_id": robot_id})
    return (running[0][0] if running else None), {}


@dataclass(frozen=True)
class FinishPlan:
    """A lean finish of one task settled before its turn on the writer."""

    guid: str
    lease_id: str
    finish: Finish
    change: Change
    now: datetime


def plan_finish(caller: Caller, item: FinishItem, now: datetime) -> FinishPlan | None:
    """The finish leases.finish_tasks's session path makes of one task named by GUID, by a
    caller in no access folder, when it changes the task (a failure its queue retries does
    not change: state.one_statement_shape); None for any other."""
    finish, reason = finish_of(item)
    ref = _id_or_guid(item.guid)
    if (
        ref is None
        or ref.kind != "guid"
        or caller.principal.folder_ids is not None
        or not _allowed(TaskStatus.IN_PROGRESS, finish.status)
    ):
        return None
    lease_id = item.lease_id
    return FinishPlan(str(ref.value), lease_id, finish, Change(caller.principal.name, reason), now)


def write_finish(write: RawWrite, runtime: Runtime, caller: Caller, plan: FinishPlan) -> Written:
    rows = _finished(
        write, caller, [plan.guid], plan.lease_id, plan.finish, plan.change, plan.now, TaskRecord
    )
    queue_guids = {rows[0].queue_id: _queue_guid(write, runtime, caller, rows[0].queue_id)}
    return _linked(write, rows, queue_guids, {})


def finish(runtime: Runtime, caller: Caller, item: FinishItem, now: datetime) -> TaskRead | None:
    """leases.finish_tasks's session path for one task (plan_finish)."""
    plan = plan_finish(caller, item, now)
    written = None if plan is None else in_own_write(runtime, write_finish, runtime, caller, plan)
    return None if written is None else written.reads(with_lease=False)[0]


@dataclass(frozen=True)
class BatchFinishPlan:
    """A lean batch finish settled before its turn on the writer: the plain items grouped
    by status and lease, the others one by one, and the GUIDs answered, in order."""

    singles: list[tuple[str, str, Finish, Change]]
    groups: dict[tuple[int, str], list[str]]
    guids: list[str]
    change: Change
    now: datetime

    def answer(self) -> ItemResults:
        return ItemResults(results=[ItemResult(guid=guid, ok=True) for guid in self.guids])


def plan_finish_batch(
    caller: Caller, raw_items: list[dict[str, Any]], now: datetime
) -> BatchFinishPlan | None:
    """leases._finish_batch's session path when each item, named by GUID, finishes its task
    (a failure its queue retries does not: state.one_statement_shape), for a caller in no
    access folder: as it does, the plain items (leases' `plain`: no output, error or
    postponement) one statement per status and lease, the others one statement each."""
    if caller.principal.folder_ids is not None or not raw_items:
        return None
    groups: dict[tuple[int, str], list[str]] = {}
    singles: list[tuple[str, str, Finish, Change]] = []
    guids: list[str] = []
    for raw_item in raw_items:
        plain = plain_finish(raw_item)  # the model's reading (and only_a_status), for less
        if plain is not None:
            if not _allowed(TaskStatus.IN_PROGRESS, TaskStatus(plain.status)):
                return None
            groups.setdefault((plain.status, plain.lease_id), []).append(plain.guid)
            guids.append(plain.guid)
            continue
        try:
            item = FinishItem.model_validate(raw_item)
        except ValidationError:
            return None
        status = TaskStatus(item.status)
        if not is_guid(str(item.guid)) or not _allowed(TaskStatus.IN_PROGRESS, status):
            return None
        guid = str(item.guid).strip().lower()  # as leases._finish_batch names it
        lease_id = item.lease_id
        if only_a_status(item):
            groups.setdefault((int(status), lease_id), []).append(guid)
        else:
            finish, reason = finish_of(item)
            singles.append((guid, lease_id, finish, Change(caller.principal.name, reason)))
        guids.append(guid)
    return BatchFinishPlan(singles, groups, guids, Change(caller.principal.name, "finished"), now)


def write_finish_batch(write: RawWrite, caller: Caller, plan: BatchFinishPlan) -> BatchFinishPlan:
    for guid, lease_id, finish, own_change in plan.singles:
        _finished(write, caller, [guid], lease_id, finish, own_change, plan.now, FinishedTask)
    for (outcome, lease_id), members in plan.groups.items():
        finish = Finish(status=TaskStatus(outcome))
        _finished(write, caller, members, lease_id, finish, plan.change, plan.now, FinishedTask)
    return plan


def finish_batch(
    runtime: Runtime, caller: Caller, raw_items: list[dict[str, Any]], now: datetime
) -> ItemResults | None:
    """leases._finish_batch's session path (plan_finish_batch)."""
    plan = plan_finish_batch(caller, raw_items, now)
    written = None if plan is None else in_own_write(runtime, write_finish_batch, caller, plan)
    return None if written is None else written.answer()


Finished = TypeVar("Finished", TaskRecord, FinishedTask)


def _finished(
    write: RawWrite,
    caller: Caller,
    guids: list[str],
    lease_id: str,
    finish: Finish,
    change: Change,
    now: datetime,
    record: type[Finished],
) -> list[Finished]:
    """Finish the tasks `guids` of the lease and write their history; _Fallback unless each
    one finished (the session path tells why, or answers a finish repeated). Each task read
    back as `record`: a batch's answer names no more than its GUIDs (FinishedTask)."""
    ids_only = record is FinishedTask
    statement = statements.finish_statement(**one_statement_shape(finish), ids_only=ids_only)
    params = finish_params(guids, caller.account_id, lease_id, finish, now)
    rows = [record._make(row) for row in write.rows(statement, params)]
    if {row.guid for row in rows} != set(guids):
        raise _Fallback
    _record_moves(write, rows, task_move(TaskStatus.IN_PROGRESS, finish.status, change, now))
    return rows


def _queue_guid(write: RawWrite, runtime: Runtime, caller: Caller, queue_id: int) -> str:
    """The GUID of the task's queue as queues.queue_rules finds it by id (cached, or the
    live queue of the caller's account); a queue not found goes to the session path."""
    cached = cached_queue_by_id(runtime, caller, queue_id)
    if cached is not None:
        return cached.guid
    found = write.rows(
        raw.visible_queue_guid(), {"p_account_id": caller.account_id, "p_id": queue_id}
    )
    if not found:
        raise _Fallback
    return str(found[0][0])


def renew(
    runtime: Runtime, caller: Caller, items: list[RenewItem], now: datetime
) -> ItemResults | None:
    """leases.renew_leases's session path when every item names, by id or GUID, a task
    whose live lease it gives."""
    refs = [_id_or_guid(item.guid) for item in items]
    if not items or any(ref is None for ref in refs):
        return None
    results: list[ItemResult] = []
    try:
        with runtime.db.raw_write() as write:
            for item, ref in zip(items, refs, strict=True):
                assert ref is not None
                results.append(_renewed(write, caller, item, ref, now))
    except _Fallback:
        return None
    return ItemResults(results=results)


def _renewed(
    write: RawWrite, caller: Caller, item: RenewItem, ref: Ref, now: datetime
) -> ItemResult:
    """leases._renew: the lease's seconds (if given) and expiry."""
    found = write.rows(
        raw.live_leased(_kind(ref)),
        {
            "p_ref": ref.value,
            "p_account_id": caller.account_id,
            "p_lease_id": item.lease_id,
            "p_now": now,
        },
    )
    if not found:
        raise _Fallback
    task = TaskRecord._make(found[0])
    seconds = item.lease_seconds or task.lease_seconds
    expires_at = now + timedelta(seconds=seconds or 300)
    write.rows(
        raw.renew_lease(),
        {
            "p_id": task.id,
            "p_lease_seconds": seconds,
            "p_lease_expires_at": expires_at,
            "p_now": now,
        },
    )
    task = task._replace(lease_seconds=seconds, lease_expires_at=expires_at, updated_at=now)
    read = _linked(write, [task], _guids(write, "queues", {task.queue_id}), {}).reads(
        with_lease=True
    )[0]
    return ItemResult(guid=task.guid, ok=True, task=read)


def _record_moves(
    write: RawWrite, rows: Sequence[TaskRecord | FinishedTask], move: TaskMove
) -> None:
    """The history entry of each task moved, in the order of `rows`."""
    if rows:
        write.rows(raw.insert_moves(), raw.move_values([row.id for row in rows], move))


def _linked(
    write: RawWrite, rows: list[TaskRecord], queue_guids: dict[int, str], job_guids: dict[int, str]
) -> Written:
    """The rows with the GUIDs views.task_reads names: their jobs' and parent tasks' looked
    up here."""
    jobs = {row.job_id for row in rows if row.job_id and row.job_id not in job_guids}
    parents = {row.parent_task_id for row in rows if row.parent_task_id}
    return Written(
        rows,
        queue_guids,
        {**job_guids, **_guids(write, "jobs", jobs)},
        _guids(write, "tasks", parents),
    )


def _guids(
    write: RawWrite, table: Literal["jobs", "queues", "tasks"], ids: set[int]
) -> dict[int, str]:
    """The GUIDs of the rows by id (statements.guids_by_id); a row missing (a link the
    foreign keys keep) goes to the session path, which answers it as it does."""
    found: dict[int, str] = {}
    for row_id in sorted(ids):
        rows = write.rows(raw.guid_by_id(table), {"p_id": row_id})
        if not rows:
            raise _Fallback
        found[row_id] = str(rows[0][0])
    return found
