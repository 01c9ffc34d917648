"""A robot's take, finish and renew on the event loop, on PostgreSQL: one prepared statement
(db.prepared) on the async driver pool (db.driver_pool), no thread hop, no ORM, no Session.

Each function answers what its leases counterpart answers, with the same rules (the caller's
right, the cached queue rules, check_transition, the lease rules written in the statements),
or None when it is not the one to answer: no driver pool (SQLite, or the lean front off), a
request shape the one statement does not cover (more than take_filters.MAX_TAGS tags, a
batch, an id or a name where a GUID is usual, a failure that may be retried), a queue not
cached yet, or a statement that changed nothing and left a reason to tell (an unknown job, a
lost lease, a retried finish).
The caller then runs the leases function, which tells the reason or answers the retry."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select
from sqlalchemy.engine import Dialect

from robofleet.server.db.base import utcnow
from robofleet.server.db.driver_pool import DriverPool
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.task_statements import one_trip as statements
from robofleet.server.db.task_statements.one_trip import LinkGuids
from robofleet.server.db.task_statements.records import TaskRecord, take_order_key
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import Ref, classify_ref, is_guid
from robofleet.server.domain.tasks import TaskStatus, check_transition
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.queues import (
    FinishItem,
    FinishRequest,
    ItemResult,
    ItemResults,
    PlainFinish,
    RenewItem,
    RenewRequest,
    TakeRequest,
    TaskRead,
    plain_finish,
)
from robofleet.server.schemas.rendered import RenderedJson
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.tasks import one_trip
from robofleet.server.services.tasks.filters import take_filter
from robofleet.server.services.tasks.leases import one_statement_finish
from robofleet.server.services.tasks.queues import cached_queue_rules
from robofleet.server.services.tasks.state import (
    Change,
    Finish,
    new_lease,
    one_statement_shape,
    only_a_status,
)
from robofleet.server.services.tasks.views import ok_results_json

_WIDTH = len(TaskRecord._fields)
Rows = list[tuple[TaskRecord, LinkGuids]]
Row = tuple[Any, ...]


@lru_cache(maxsize=statements.TAKES_KEPT)
def _prepared(
    statement: Select[Any], dialect: Dialect, server_prepared: bool = True
) -> PreparedStatement:
    """Each statement is prepared once for the engine's dialect (its builders keep it too)."""
    return PreparedStatement(statement, dialect, server_prepared=server_prepared)


async def _run(
    runtime: Runtime,
    pool: DriverPool,
    statement: Select[Any],
    params: dict[str, Any],
    *,
    filtered: bool = False,
    group: bool = False,
) -> list[tuple[Any, ...]]:
    """A filtered take is planned for its filter's values on each run (as the session path's
    is): under the generic plan of a prepared statement PostgreSQL cannot weigh how many
    tasks a tag or a name matches. A group's statement (`group`) goes to the pool ahead of
    the single ones waiting: it answers up to MEMBERS_MOST callers, and in a FIFO behind a
    backlog the groups of one key (which run one at a time) fell behind their arrivals."""
    prepared = _prepared(statement, runtime.db.engine.dialect, not filtered)
    return await pool.run(prepared, params, first=group)


def _records(rows: list[tuple[Any, ...]]) -> Rows:
    """A one-trip statement's rows as (record, links), in take order (as one_trip.run)."""
    records = [(TaskRecord._make(row[:_WIDTH]), LinkGuids(*row[_WIDTH:])) for row in rows]
    records.sort(key=lambda pair: take_order_key(pair[0]))
    return records


def _job_ref(data: TakeRequest) -> Ref | None:
    """The job the take names, by id or GUID; None for a reference leases.job_for refuses
    (or reads as a name): that answer is the session path's."""
    try:
        ref = classify_ref(data.job) if data.job is not None else None
    except ValueError:
        return None
    return ref if ref is not None and ref.kind in ("id", "guid") else None


async def take(runtime: Runtime, caller: Caller, data: TakeRequest) -> RenderedJson | None:
    """leases.take_tasks, filtered or not, naming a job or not, as one statement."""
    pool = runtime.driver_pool
    narrowed = take_filter(data) if pool is not None else None
    if pool is None or narrowed is None:
        return None
    shape, filter_values = narrowed
    job = _job_ref(data)
    if data.job is not None and job is None:
        return None
    caller.require(Screen.TASK, Action.UPDATE)
    now = utcnow()
    queue = cached_queue_rules(runtime, caller, data.queue)
    if queue is None:  # the session path finds it, and caches it
        return None
    check_transition(TaskStatus.NEW, TaskStatus.IN_PROGRESS, manual=False)
    robot_id = caller.principal.robot_id
    # The job is linked by the statement: the one named, or the robot's running one.
    lease = new_lease(caller, seconds=data.lease_seconds or queue.lease_seconds, job_id=None)
    change = Change(caller.principal.name, "taken")
    params = one_trip.take_params(queue, lease=lease, change=change, now=now)
    params.update(filter_values)
    if job is None:
        params.update(p_job_id=None, p_robot_job=int(robot_id is not None))
        if shape is None and data.count == 1:
            rows = await _take_one(runtime, pool, params)
        else:
            statement = statements.take_from_queue(data.count, shape)
            rows = await _run(runtime, pool, statement, params, filtered=shape is not None)
    else:
        params.update(p_job_ref=job.value, p_account_id=caller.account_id)
        if robot_id is not None:
            params["p_scope_robot_id"] = robot_id
        statement = statements.take_for_job(
            job.kind, data.count, robot_scoped=robot_id is not None, shape=shape
        )
        found = await _run(runtime, pool, statement, params, filtered=shape is not None)
        if found[0][0] is None:  # no such job for this caller: the session path's 404
            return None
        rows = [row[1:] for row in found if row[1] is not None]
    return one_trip.json_of(_records(rows), with_lease=True)


async def _take_one(runtime: Runtime, pool: DriverPool, params: dict[str, Any]) -> list[Row]:
    """One task of the queue: alone, or with the other takes of that queue that arrived
    while one ran (runtime.take_groups), as one statement."""

    async def alone(member: dict[str, Any]) -> list[Row]:
        return await _run(runtime, pool, statements.take_from_queue(1), member)

    async def together(members: list[dict[str, Any]]) -> list[list[Row]]:
        first = members[0]
        values: dict[str, Any] = {
            "p_queue_id": first["p_queue_id"],
            "p_now": utcnow(),
            "p_reason": first["p_reason"],
            **{
                name: [member[key] for member in members]
                for name, key in statements.MEMBER_PARAMETERS
            },
        }
        rows = await _run(runtime, pool, statements.group_take(len(members)), values, group=True)
        return _by_member(rows, len(members))

    return await runtime.take_groups.run(params["p_queue_id"], params, alone, together)


def _single_item(data: FinishRequest) -> FinishItem | None:
    """The one task a finish names, as leases.finish_tasks reads it; None for a batch or a
    request that does not validate (the session path answers its 422)."""
    if data.all_items() is not None:
        return None
    try:
        return data.one_item()
    except ValidationError:
        return None


async def finish(
    runtime: Runtime, caller: Caller, data: FinishRequest
) -> TaskRead | RenderedJson | None:
    """leases.finish_tasks for one task by GUID with an outcome that creates no retry task,
    or for a batch of such finishes (`Items`, as the SDK sends them)."""
    pool = runtime.driver_pool
    if pool is None:
        return None
    caller.require(Screen.TASK, Action.UPDATE)
    now = utcnow()
    items = data.all_items()
    if items is not None:
        return await _finish_batch(runtime, pool, caller, items, now)
    item = _single_item(data)
    plan = one_statement_finish(caller, item) if item is not None else None
    if plan is None:
        return None
    statement, params = one_trip.finish_statement(plan, now)
    shape = one_statement_shape(plan.finish)
    if shape["set_output"] or shape["set_error"]:
        rows = await _run(runtime, pool, statement, params)
    else:
        rows = await _finish_one(runtime, pool, statement, params, shape)
    if not rows:  # the session path tells why, or answers a finish retried
        return None
    return one_trip.reads_of(_records(rows), with_lease=False)[0]


async def _finish_one(
    runtime: Runtime,
    pool: DriverPool,
    statement: Select[Any],
    params: dict[str, Any],
    shape: dict[str, bool],
) -> list[Row]:
    """One task's finish without output or error: alone, or with the other such finishes of
    the same outcome (account, status, reason) that arrived while one ran, as one statement
    (one_trip.group_finish); each member under its own lease."""
    finished, unless_retried = shape["finished"], shape["unless_retried"]
    outcome = ("p_account_id", "p_status", "p_postponed_until", "p_reason")
    key = (*(params[name] for name in outcome), finished, unless_retried)

    async def alone(member: dict[str, Any]) -> list[Row]:
        return await _run(runtime, pool, statement, member)

    async def together(members: list[dict[str, Any]]) -> list[list[Row]]:
        values: dict[str, Any] = {
            **{name: members[0][name] for name in outcome},
            "p_now": utcnow(),
            "p_guids": [member["p_guids"][0] for member in members],
            "p_lease_ids": [member["p_lease_id"] for member in members],
            "p_actors": [member["p_actor"] for member in members],
        }
        group = statements.group_finish(finished=finished, unless_retried=unless_retried)
        rows = await _run(runtime, pool, group, values, group=True)
        return _by_member(rows, len(members))

    return await runtime.finish_groups.run(key, params, alone, together)


def _by_member(rows: list[Row], members: int) -> list[list[Row]]:
    """A group statement's rows by member: the member's number (from 1) ends each row."""
    taken: list[list[Row]] = [[] for _ in range(members)]
    for row in rows:
        taken[row[-1] - 1].append(row[:-1])
    return taken


def _plain(caller: Caller, item: FinishItem) -> PlainFinish | None:
    """A finish leases._finish_batch groups by status and lease into one statement."""
    if only_a_status(item) and is_guid(str(item.guid)) and caller.principal.folder_ids is None:
        guid, lease_id = str(item.guid).strip().lower(), item.lease_id
        return PlainFinish(guid, lease_id, item.status)
    return None


async def _finish_batch(
    runtime: Runtime,
    pool: DriverPool,
    caller: Caller,
    raw_items: list[dict[str, Any]],
    now: datetime,
) -> RenderedJson | None:
    """leases._finish_batch when every item is a finish one statement makes and makes: the
    items in its order (the others one by one, then the plain ones one statement per status
    and lease), each answered ok. Anything else, an item that does not validate or a finish
    that changed nothing, and the session path judges each item; what was finished here it
    then finds finished alike by the same lease, and answers ok as this path would."""
    if not raw_items:
        return None
    answered: list[str] = []
    groups: dict[tuple[int, str], list[str]] = {}
    unscoped = caller.principal.folder_ids is None
    for raw in raw_items:
        item: FinishItem | None = None
        plain = plain_finish(raw) if unscoped else None  # the model's reading, for less
        if plain is None:
            try:
                item = FinishItem.model_validate(raw)
            except ValidationError:
                return None
            plain = _plain(caller, item)
        if plain is not None:
            groups.setdefault((plain.status, plain.lease_id), []).append(plain.guid)
            answered.append(plain.guid)
            continue
        assert item is not None
        plan = one_statement_finish(caller, item)
        if plan is None:
            return None
        statement, params = one_trip.finish_statement(plan, now, guids_only=True)
        rows = await _run(runtime, pool, statement, params)
        if not rows:
            return None
        answered.append(rows[0][0])
    change = Change(caller.principal.name, "finished")
    for (status, lease_id), guids in groups.items():
        plan = one_trip.OneFinish(
            guid=guids[0],
            account_id=caller.account_id,
            lease_id=lease_id,
            finish=Finish(status=TaskStatus(status)),
            change=change,
        )
        statement, params = one_trip.finish_statement(plan, now, guids=guids, guids_only=True)
        rows = await _run(runtime, pool, statement, params)
        if len(rows) != len(set(guids)):
            return None
    return ok_results_json(answered)


async def renew(runtime: Runtime, caller: Caller, data: RenewRequest) -> ItemResults | None:
    """leases.renew_leases for tasks named by GUID whose leases are all live: one statement
    per lease and length the items share (a batch taken together is one). Should one not be
    live, the session path answers the whole request (telling why); the leases renewed here
    it renews again, from its own `now`, as a renew repeated would."""
    pool = runtime.driver_pool
    if pool is None or data.items == []:
        return None
    items = (
        data.items
        if data.items is not None
        else [
            RenewItem(
                guid=data.guid or "", lease_id=data.lease_id or "", lease_seconds=data.lease_seconds
            )
        ]
    )
    caller.require(Screen.TASK, Action.UPDATE)
    named: list[str] = []
    groups: dict[tuple[str, int | None], list[str]] = {}
    for item in items:
        try:
            ref = classify_ref(item.guid)
        except ValueError:
            return None
        if ref.kind != "guid":
            return None
        guid = str(ref.value)
        named.append(guid)
        lease = (item.lease_id, item.lease_seconds)
        groups.setdefault(lease, []).append(guid)
    now = utcnow()
    renewed: dict[str, TaskRead] = {}
    for (lease_id, seconds), guids in groups.items():
        distinct = list(dict.fromkeys(guids))
        params = {
            "p_guids": distinct,
            "p_account_id": caller.account_id,
            "p_lease_id": lease_id,
            "p_lease_seconds": seconds,
            "p_now": now,
        }
        rows = await _run(runtime, pool, statements.renew_cte(), params)
        if len(rows) != len(distinct):  # the session path tells why a lease is not live
            return None
        renewed.update((t.guid, t) for t in one_trip.reads_of(_records(rows), with_lease=True))
    return ItemResults(
        results=[ItemResult(guid=guid, ok=True, task=renewed[guid]) for guid in named]
    )
