"""Queue tab."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import get_body_fields, sherpa_router
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.queues import (
    LastTaskFilter,
    QueueCreate,
    QueueRead,
    QueueUpdate,
    QueueWithCounts,
    TaskRead,
)
from robofleet.server.services.tasks import queues, reading

router = sherpa_router("Queue", prefix="/api/queue")


@router.post("/create", summary="Create a queue")
def create_queue(body: QueueCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    return queues.create_queue(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a queue")
def read_queue(guid: str, runtime: RuntimeDep, caller: CallerDep) -> QueueRead:
    return queues.read_queue(runtime, caller, guid)


@router.get("/list", summary="Queues with their task counts per status")
def list_queues(runtime: RuntimeDep, caller: CallerDep) -> list[QueueWithCounts]:
    return queues.list_queues(runtime, caller)


@router.put("/update", summary="Update a queue's settings")
def update_queue(body: QueueUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    queues.update_queue(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete a queue with no task in progress")
def delete_queue(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    queues.delete_queue(runtime, caller, guid)
    return []


@router.get("/lastTask/{queue}", summary="The queue's next New task (not taken)")
def last_task(
    queue: str,
    runtime: RuntimeDep,
    caller: CallerDep,
    query: Annotated[LastTaskFilter, Query()],
    body: Annotated[dict[str, Any], Depends(get_body_fields)],
) -> TaskRead:
    """The task a take would return next (or, with `Status`, the oldest task of that
    status). It is not taken: set its Status to 1 with /api/task/update (atomic), or use
    /api/task/take. `Status` may come in the query or in a form or JSON body."""
    filters = query if query.status is not None else LastTaskFilter.model_validate(body)
    return reading.last_task(runtime, caller, queue, filters.status)
