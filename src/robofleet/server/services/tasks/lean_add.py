"""Adding tasks without the ORM, for the common case: a caller adding tasks to a queue it has
used in the last few seconds (its rules cached) and, when it names the add with an
Idempotency-Key (as the SDK always does) or gives tasks GUIDs of its own, a FIRST add: none
of its keys names a task of the account, and no task has one of its GUIDs, yet. The key and
the request digest are stored as the session path stores them (idempotency.item_key,
request_digest), so a retry finds them. The tasks are the session path's (state.new_task),
with the same first history entry; the answer is rendered from the rows the statement
returns, as adding.create_task renders the row it reads back.

On PostgreSQL the add is one statement on the async driver pool (the tasks and their history,
db.task_statements.adding), on the event loop; on SQLite a few prepared statements in the
group writer's turn (Database.raw_write): planned (plan_add, the digests included) and
answered off the write lane, only add_in_own_write on it (services.tasks.on_lane).
Anything else returns None with nothing changed and services.tasks.adding's session path
answers: a key or a GUID already used (a retry, answered
with its task, or a key or GUID reused or another account's, 409; on PostgreSQL the guarded
statement ran and added nothing, and a concurrent add of the same key or GUID fails it whole
on the unique index), a GUID given twice in one add, on a queue demanding unique names a
name already taken or given twice (refused per item, with its reason), a queue not cached
yet, a bulk add with no task left to add, and on PostgreSQL values the driver refuses (the
session path's error).

Side effects are the session path's: tasks are not audited (TASK_TRAFFIC), no cache watches
them, and no metric counts adds. The arrival on a queue a trigger watches is announced as
runtime.arrivals announces it for a session: on PostgreSQL a NOTIFY in the adding statement
(delivered at its commit), on SQLite the local call after the group's COMMIT.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from robofleet.server.db.driver_pool import StatementRefused
from robofleet.server.db.raw_write import RawWrite
from robofleet.server.db.raw_write import prepared as prepared_statement
from robofleet.server.db.task_statements import adding as statements
from robofleet.server.db.task_statements.records import NewTask, TaskRecord
from robofleet.server.domain.queue_rules import QueueRules
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.arrivals import CHANNEL as ARRIVALS_CHANNEL
from robofleet.server.schemas.base import Ref
from robofleet.server.schemas.queues import (
    BulkCreated,
    BulkFailure,
    TaskCreate,
    TaskFields,
    TaskItem,
    TaskRead,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.tasks.idempotency import item_key, request_digest
from robofleet.server.services.tasks.queues import cached_queue_rules
from robofleet.server.services.tasks.state import Change, new_task
from robofleet.server.services.tasks.views import task_reads

_WIDTH = len(TaskRecord._fields)


class _Taken(Exception):
    """A unique name or an idempotency key is taken: the session path answers (nothing was
    written here)."""


@dataclass(frozen=True)
class AddPlan:
    """The tasks one add makes, and who makes them."""

    queue: QueueRules
    tasks: list[NewTask]
    change: Change
    now: datetime
    client_guids: bool
    """Whether a task's GUID is the client's own (then a task of any account may hold it)."""

    @property
    def keyed(self) -> bool:
        """Whether the add names itself with an idempotency key (then every task has one)."""
        return self.tasks[0]["idempotency_key"] is not None


Item = tuple[str, TaskFields, str | None, str | None]
"""One task to add: its name, fields, client GUID and idempotency key (item_key's)."""


def one_item(data: TaskCreate, key: str | None) -> Item:
    """A one-task add's item, named `key` if given."""
    return (data.name, data, data.guid, key)


def plan_add(
    runtime: Runtime,
    caller: Caller,
    queue_ref: Ref,
    items: Sequence[Item],
    now: datetime,
) -> AddPlan | None:
    """The add of `items` when it is the lean one. A task named by a key or by the client's
    GUID gets the session path's digest (request_digest)."""
    queue = cached_queue_rules(runtime, caller, queue_ref)
    if queue is None or not items:
        return None
    if queue.unique_tasks and len({name for name, _, _, _ in items}) < len(items):
        return None  # a name given twice: the session path refuses the repeats
    guids = [guid for _, _, guid, _ in items if guid is not None]
    if len(set(guids)) < len(guids):
        return None  # a GUID given twice: the session path refuses the repeats
    tasks = [
        new_task(
            queue,
            name,
            fields,
            now,
            guid=guid,
            idempotency_key=key,
            request_digest=(
                None
                if key is None and guid is None
                else request_digest(queue.id, name, fields, guid)
            ),
        )
        for name, fields, guid, key in items
    ]
    change = Change(caller.principal.name, "added")
    return AddPlan(queue, tasks, change, now, client_guids=bool(guids))


def _watched(runtime: Runtime, queue: QueueRules) -> bool:
    """Whether the add must announce its tasks' arrival (runtime.arrivals.announce)."""
    arrivals = runtime.task_arrivals
    return arrivals is not None and queue.id in arrivals.watched


def bulk_answer(plan: AddPlan, failed: list[BulkFailure]) -> BulkCreated:
    """adding.bulk_create's answer when every good item was added now."""
    guids = [task["guid"] for task in plan.tasks]
    return BulkCreated(
        created=len(guids),
        guids=guids,
        failed=sorted(failed, key=lambda f: f.index),
        existing=0,
    )


def _read(plan: AddPlan, record: TaskRecord) -> TaskRead:
    return task_reads(None, [record], queue_guids={plan.queue.id: plan.queue.guid})[0]


# PostgreSQL: one statement on the driver pool.


def _arrays(plan: AddPlan) -> dict[str, Any] | None:
    """The parameters of statements.add_on_postgresql (an array per column, or the one
    task's values); None when a task's parameters are not JSON PostgreSQL takes (NaN,
    Infinity): the session path answers that."""
    tasks = plan.tasks
    values: dict[str, Any] = {
        f"a_{name}": [task[name] for task in tasks]  # type: ignore[literal-required]
        for name in statements.PER_TASK
    }
    try:
        values["a_parameters"] = [json.dumps(task["parameters"], allow_nan=False) for task in tasks]
    except ValueError:
        return None
    if len(tasks) == 1:
        values = {name: value[0] for name, value in values.items()}
    first = plan.tasks[0]
    values.update({f"p_{name}": first[name] for name in statements.SHARED})  # type: ignore[literal-required]
    values.update(p_actor=plan.change.actor[:300], p_reason=plan.change.reason, p_now=plan.now)
    return values


async def _add_on_driver(
    runtime: Runtime, plan: AddPlan, *, full: bool
) -> list[tuple[Any, ...]] | None:
    """Run the add on the driver pool; None (nothing added) where the session path answers."""
    pool = runtime.driver_pool
    if pool is None:
        return None
    values = _arrays(plan)
    if values is None:
        return None
    notify = _watched(runtime, plan.queue)
    if notify:
        values.update(p_channel=ARRIVALS_CHANNEL, p_payload=str(plan.queue.id))
    statement = statements.add_on_postgresql(
        full=full,
        notify=notify,
        unique=plan.queue.unique_tasks,
        keyed=plan.keyed,
        guided=plan.client_guids,
        single=len(plan.tasks) == 1,
    )
    prepared = prepared_statement(statement, runtime.db.engine.dialect)
    try:
        rows = await pool.run(prepared, values)
    except StatementRefused:
        # A value the database refuses, or a concurrent add of the same key (the unique
        # key index; the driver's OperationalError is raised as the engine's, not caught
        # here): the one statement failed whole, the session path answers.
        return None
    # No rows: a unique name or a key was taken, and nothing was added.
    return rows if len(rows) == len(plan.tasks) else None


async def create_on_driver(
    runtime: Runtime, caller: Caller, data: TaskCreate, key: str | None, now: datetime
) -> TaskRead | None:
    """adding.create_task's add (named `key`, if given), as one statement on PostgreSQL's
    driver pool."""
    plan = plan_add(runtime, caller, data.queue, [one_item(data, key)], now)
    if plan is None:
        return None
    rows = await _add_on_driver(runtime, plan, full=True)
    if rows is None:
        return None
    return _read(plan, TaskRecord._make(rows[0][:_WIDTH]))


async def bulk_on_driver(
    runtime: Runtime,
    caller: Caller,
    queue_ref: Ref,
    good: list[tuple[int, TaskItem]],
    failed: list[BulkFailure],
    key: str | None,
    now: datetime,
) -> BulkCreated | None:
    """adding.bulk_create's add of the items that validated (named `key`, if given), as one
    statement."""
    plan = plan_add(runtime, caller, queue_ref, bulk_items(good, key), now)
    if plan is None:
        return None
    if await _add_on_driver(runtime, plan, full=False) is None:
        return None
    return bulk_answer(plan, failed)


def bulk_items(good: list[tuple[int, TaskItem]], key: str | None) -> list[Item]:
    """A bulk add's items, item i keyed `<key>#<i>` (its index in the request)."""
    return [(item.name, item, item.guid, item_key(key, index)) for index, item in good]


# SQLite: prepared statements in the group writer's turn.


def _add_on_sqlite(
    write: RawWrite, runtime: Runtime, plan: AddPlan, *, returning: bool
) -> list[tuple[Any, ...]]:
    """Insert the tasks and their history entries; the inserted row when `returning` (one
    task). A watched queue's arrival is announced after the group's COMMIT. A unique name,
    an idempotency key or a client's GUID already taken raises _Taken before anything is
    written (the group writer runs one write at a time, so no add of the same key comes in
    between)."""
    if plan.keyed:
        for task in plan.tasks:
            found = write.rows(
                statements.taken_key(),
                {"p_account_id": plan.queue.account_id, "p_key": task["idempotency_key"]},
            )
            if found:
                raise _Taken
    if plan.client_guids:
        for task in plan.tasks:
            if write.rows(statements.taken_guid(), {"p_guid": task["guid"]}):
                raise _Taken
    if plan.queue.unique_tasks:
        for task in plan.tasks:
            found = write.rows(
                statements.taken_name(),
                {
                    "p_account_id": plan.queue.account_id,
                    "p_queue_id": plan.queue.id,
                    "p_name": task["name"],
                },
            )
            if found:
                raise _Taken
    rows: list[tuple[Any, ...]] = []
    if returning:
        rows = write.rows(
            statements.insert_task(returning=True), statements.task_values(plan.tasks[0])
        )
    else:
        write.run_many(
            statements.insert_task(returning=False),
            [statements.task_values(task) for task in plan.tasks],
        )
    shared = {"p_actor": plan.change.actor[:300], "p_reason": plan.change.reason, "p_now": plan.now}
    write.run_many(
        statements.first_event(), [{**shared, "p_guid": task["guid"]} for task in plan.tasks]
    )
    arrivals = runtime.task_arrivals
    if arrivals is not None and plan.queue.id in arrivals.watched:
        payload = str(plan.queue.id)
        write.after_commit.append(lambda: arrivals.on_notify(payload))
    return rows


def add_in_own_write(
    runtime: Runtime, plan: AddPlan, *, returning: bool
) -> list[tuple[Any, ...]] | None:
    """The add in a raw write of its own (joining the writer's held turn on the write lane):
    the inserted row when `returning`, else no rows; None, with nothing added, where the
    session path answers."""
    try:
        with runtime.db.raw_write() as write:
            return _add_on_sqlite(write, runtime, plan, returning=returning)
    except _Taken:
        return None


def created_read(plan: AddPlan, rows: list[tuple[Any, ...]]) -> TaskRead:
    """The answer to a one-task add from the row it inserted."""
    return _read(plan, TaskRecord._make(rows[0]))


def create_on_sqlite(
    runtime: Runtime, caller: Caller, data: TaskCreate, key: str | None, now: datetime
) -> TaskRead | None:
    """adding.create_task's add (named `key`, if given), in SQLite's group writer without a
    session."""
    plan = plan_add(runtime, caller, data.queue, [one_item(data, key)], now)
    rows = None if plan is None else add_in_own_write(runtime, plan, returning=True)
    return None if plan is None or rows is None else created_read(plan, rows)


def bulk_on_sqlite(
    runtime: Runtime,
    caller: Caller,
    queue_ref: Ref,
    good: list[tuple[int, TaskItem]],
    failed: list[BulkFailure],
    key: str | None,
    now: datetime,
) -> BulkCreated | None:
    """adding.bulk_create's add of the items that validated (named `key`, if given), in
    SQLite's group writer."""
    plan = plan_add(runtime, caller, queue_ref, bulk_items(good, key), now)
    rows = None if plan is None else add_in_own_write(runtime, plan, returning=False)
    return None if plan is None or rows is None else bulk_answer(plan, failed)
