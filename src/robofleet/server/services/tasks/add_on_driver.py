"""A task add on the event loop, on PostgreSQL (services.tasks.lean_add): the caller's right,
the key and the items checked as adding.create_task and bulk_create check them, then one
statement on the driver pool. None where the session path answers (no pool, an idempotency
key or a client's task GUID already used, or another case lean_add leaves)."""

from __future__ import annotations

from robofleet.server.db.base import utcnow
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.planner_statistics import note_added
from robofleet.server.schemas.queues import BulkCreate, BulkCreated, TaskCreate, TaskRead
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.tasks import lean_add
from robofleet.server.services.tasks.adding import validated_items
from robofleet.server.services.tasks.idempotency import checked_key


async def create(
    runtime: Runtime, caller: Caller, data: TaskCreate, idempotency_key: str | None
) -> TaskRead | None:
    """adding.create_task (a key's or a client GUID's first add only)."""
    if runtime.driver_pool is None:
        return None
    caller.require(Screen.TASK, Action.CREATE)
    key = checked_key(idempotency_key)
    return await lean_add.create_on_driver(runtime, caller, data, key, utcnow())


async def bulk_create(
    runtime: Runtime, caller: Caller, data: BulkCreate, idempotency_key: str | None
) -> BulkCreated | None:
    """adding.bulk_create (a key's or a client GUID's first add only)."""
    if runtime.driver_pool is None:
        return None
    caller.require(Screen.TASK, Action.CREATE)
    key = checked_key(idempotency_key)
    now = utcnow()
    good, failed = validated_items(data)
    created = await lean_add.bulk_on_driver(runtime, caller, data.queue, good, failed, key, now)
    if created is not None:
        note_added(runtime.planner_statistics, created.created - created.existing)
    return created
