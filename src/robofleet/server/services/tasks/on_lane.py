"""A robot's take, finish and task add on SQLite with only their statements in the write
lane's group (api.fast.write_lane: on the event loop's thread, or the lane's own).

Every write of the server waits for the group writer's turn; whatever else a lean take,
finish or add does (validating, the cached queue rules, the lease, the request's digest,
rendering the answer) is done here, before and after that turn.
Each function answers what its blocking counterpart answers (leases' and adding's, from the
same pieces of services.tasks.lean_sqlite and lean_add), or None where that path leaves the
request to the session path (the caller then runs the blocking function, which tells why or
answers a retry).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from pydantic import ValidationError

from robofleet.server.db.base import utcnow
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import Ref
from robofleet.server.schemas.queues import (
    BulkCreate,
    BulkCreated,
    FinishRequest,
    TakeRequest,
    TaskCreate,
    TaskRead,
)
from robofleet.server.schemas.rendered import RenderedJson
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.tasks import lean_add, lean_sqlite
from robofleet.server.services.tasks.adding import validated_items
from robofleet.server.services.tasks.idempotency import checked_key
from robofleet.server.services.tasks.views import ok_results_json

OffloadWrite = Callable[..., Awaitable[Any]]
"""The front's way to a write of statements only: on SQLite, the write lane's run_here
(offload(fn, *args))."""


def _on_sqlite(runtime: Runtime) -> bool:
    return runtime.db.raw_writes  # the store with one writer


async def take(
    runtime: Runtime, caller: Caller, data: TakeRequest, offload_write: OffloadWrite
) -> RenderedJson | None:
    """leases.take_tasks from a cached queue, filtered or not (lean_sqlite.plan_take)."""
    if not _on_sqlite(runtime):
        return None
    caller.require(Screen.TASK, Action.UPDATE)
    plan = lean_sqlite.plan_take(runtime, caller, data, utcnow())
    if plan is None:
        return None
    written: lean_sqlite.Written | None = await offload_write(
        lean_sqlite.in_own_write, runtime, lean_sqlite.write_take, runtime, caller, plan
    )
    return None if written is None else written.json(with_lease=True)


async def finish(
    runtime: Runtime, caller: Caller, data: FinishRequest, offload_write: OffloadWrite
) -> TaskRead | RenderedJson | None:
    """leases.finish_tasks for one task by GUID or a batch (lean_sqlite.plan_finish and
    plan_finish_batch)."""
    if not _on_sqlite(runtime):
        return None
    caller.require(Screen.TASK, Action.UPDATE)
    now = utcnow()
    items = data.all_items()
    if items is not None:
        batch = lean_sqlite.plan_finish_batch(caller, items, now)
        if batch is None:
            return None
        done: lean_sqlite.BatchFinishPlan | None = await offload_write(
            lean_sqlite.in_own_write, runtime, lean_sqlite.write_finish_batch, caller, batch
        )
        return None if done is None else ok_results_json(done.guids)
    try:
        item = data.one_item()
    except ValidationError:  # the session path answers its 422
        return None
    plan = lean_sqlite.plan_finish(caller, item, now)
    if plan is None:
        return None
    written: lean_sqlite.Written | None = await offload_write(
        lean_sqlite.in_own_write, runtime, lean_sqlite.write_finish, runtime, caller, plan
    )
    return None if written is None else written.reads(with_lease=False)[0]


async def add(
    runtime: Runtime,
    caller: Caller,
    data: TaskCreate,
    idempotency_key: str | None,
    offload_write: OffloadWrite,
) -> TaskRead | None:
    """adding.create_task (a key's or a client GUID's first add only)."""
    if not _on_sqlite(runtime):
        return None
    caller.require(Screen.TASK, Action.CREATE)
    item = lean_add.one_item(data, checked_key(idempotency_key))
    added = await _added(runtime, caller, data.queue, [item], offload_write, returning=True)
    return None if added is None else lean_add.created_read(*added)


async def bulk_add(
    runtime: Runtime,
    caller: Caller,
    data: BulkCreate,
    idempotency_key: str | None,
    offload_write: OffloadWrite,
) -> BulkCreated | None:
    """adding.bulk_create (a key's or a client GUID's first add only)."""
    if not _on_sqlite(runtime):
        return None
    caller.require(Screen.TASK, Action.CREATE)
    key = checked_key(idempotency_key)
    good, failed = validated_items(data)
    items = lean_add.bulk_items(good, key)
    added = await _added(runtime, caller, data.queue, items, offload_write, returning=False)
    return None if added is None else lean_add.bulk_answer(added[0], failed)


async def _added(
    runtime: Runtime,
    caller: Caller,
    queue_ref: Ref,
    items: list[lean_add.Item],
    offload_write: OffloadWrite,
    *,
    returning: bool,
) -> tuple[lean_add.AddPlan, list[tuple[Any, ...]]] | None:
    """The add planned here and written on the lane: its plan and the rows it returned
    (the inserted row when `returning`); None, nothing added, where the session path adds."""
    plan = lean_add.plan_add(runtime, caller, queue_ref, items, utcnow())
    if plan is None:
        return None
    add = partial(lean_add.add_in_own_write, returning=returning)
    rows: list[tuple[Any, ...]] | None = await offload_write(add, runtime, plan)
    return None if rows is None else (plan, rows)
