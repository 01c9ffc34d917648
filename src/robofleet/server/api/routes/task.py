"""Task tab: add, read, filter, take with a lease, finish, renew, update, tags, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header

from robofleet.contract import IDEMPOTENCY_KEY_HEADER
from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import ModelResponse, sherpa_router
from robofleet.server.schemas.base import ResultResponse
from robofleet.server.schemas.queues import (
    BulkCreate,
    BulkCreated,
    FinishRequest,
    ItemResults,
    NamedQueueFilter,
    RenewRequest,
    TagChange,
    TakeRequest,
    TaskCreate,
    TaskEvent,
    TaskFilter,
    TaskList,
    TaskRead,
    TaskUpdate,
)
from robofleet.server.services.tasks import adding, reading, updating
from robofleet.server.services.tasks import leases as task_leases
from robofleet.server.services.tasks.filters import parse_filter_path

router = sherpa_router("Task", prefix="/api/task")


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY_HEADER,
        description="Names this add (1 to 200 visible ASCII characters, e.g. a UUID): a "
        "retry with the same key and request answers with the task(s) already added.",
        json_schema_extra={"pattern": "^[\\x21-\\x7e]{1,200}$"},
    ),
]


@router.post("/create", summary="Add a task to a queue")
def create_task(
    body: TaskCreate, runtime: RuntimeDep, caller: CallerDep, key: IdempotencyKey = None
) -> TaskRead:
    """An add retried with the same `Idempotency-Key` header (or the same client `Guid`) and
    the same request answers with the task already added; with another request, 409."""
    return adding.create_task(runtime, caller, body, idempotency_key=key)


@router.post("/bulkCreate", summary="Add up to 10,000 tasks in one call")
def bulk_create(
    body: BulkCreate, runtime: RuntimeDep, caller: CallerDep, key: IdempotencyKey = None
) -> BulkCreated:
    """`Mode` all_or_nothing (default) adds none if any task is refused; `each` adds the good
    ones and lists the refused with their index and reason. With an `Idempotency-Key` header
    (item i is named `<key>#<i>`) or per-task `Guid`s, a retried call adds no task twice."""
    return adding.bulk_create(runtime, caller, body, idempotency_key=key)


@router.get("/read/{task}", summary="Read a task by GUID or name")
def read_task(task: str, runtime: RuntimeDep, caller: CallerDep) -> TaskRead:
    return reading.read_task(runtime, caller, task)


def _filters(path: str, body: TaskFilter | None) -> TaskFilter:
    given = body.model_dump(exclude_unset=True) if body else {}
    return TaskFilter.model_validate({**given, **parse_filter_path(path)})


@router.post("/filter/read/{queue}", summary="The first task matching filters (body)")
def filter_read(
    queue: str, runtime: RuntimeDep, caller: CallerDep, body: TaskFilter | None = None
) -> TaskRead:
    """In take order. `Take: 1` takes it with a lease at once (atomic)."""
    return reading.filter_read(runtime, caller, queue, _filters("", body))


@router.post(
    "/filter/read/{queue}/{filters:path}",
    summary="The first task matching filters (path: status=0/tags=+a;-b/...)",
)
def filter_read_path(
    queue: str, filters: str, runtime: RuntimeDep, caller: CallerDep, body: TaskFilter | None = None
) -> TaskRead:
    return reading.filter_read(runtime, caller, queue, _filters(filters, body))


@router.post("/filter/list", summary="The tasks of the queue named by `Name`, newest first")
def filter_list_named(
    body: NamedQueueFilter, runtime: RuntimeDep, caller: CallerDep
) -> list[TaskRead]:
    """Sherpa's documented form: the body's `Name` is the queue's GUID or name."""
    return reading.filter_list(runtime, caller, body.name, _filters("", body))


@router.post("/filter/list/{queue}", summary="Tasks matching filters (body), newest first")
def filter_list(
    queue: str, runtime: RuntimeDep, caller: CallerDep, body: TaskFilter | None = None
) -> list[TaskRead]:
    return reading.filter_list(runtime, caller, queue, _filters("", body))


@router.post(
    "/filter/list/{queue}/{filters:path}",
    summary="Tasks matching filters (path syntax), newest first",
)
def filter_list_path(
    queue: str, filters: str, runtime: RuntimeDep, caller: CallerDep, body: TaskFilter | None = None
) -> list[TaskRead]:
    return reading.filter_list(runtime, caller, queue, _filters(filters, body))


@router.post(
    "/take", summary="Take up to Count New tasks, each with a lease", response_model=TaskList
)
def take(body: TakeRequest, runtime: RuntimeDep, caller: CallerDep) -> ModelResponse:
    """Order: overdue first, then priority High to Low, then nearest deadline, then oldest.
    Each task comes with `lease_id` and `lease_expires_at`; finish it with that lease."""
    return ModelResponse(task_leases.take_tasks(runtime, caller, body))


@router.post(
    "/finish",
    summary="Finish a taken task (or many, with Items)",
    response_model=TaskRead | ItemResults,
)
def finish(body: FinishRequest, runtime: RuntimeDep, caller: CallerDep) -> ModelResponse:
    """Status 2 Success, 3 Failed (Application), 4 Failed (Business), 5 Postponed (with
    PostponedUntil). Needs the live lease: otherwise 409 and nothing changes."""
    return ModelResponse(task_leases.finish_tasks(runtime, caller, body))


@router.post("/renew", summary="Extend the lease of taken tasks")
def renew(body: RenewRequest, runtime: RuntimeDep, caller: CallerDep) -> ItemResults:
    return task_leases.renew_leases(runtime, caller, body)


@router.put("/update", summary="Update a task (Sherpa); Status 1 takes it atomically")
def update_task(body: TaskUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    updating.update_task(runtime, caller, body)
    return []


@router.delete("/delete/{task}", summary="Delete a task")
def delete_task(task: str, runtime: RuntimeDep, caller: CallerDep) -> ResultResponse:
    return updating.delete_task(runtime, caller, task)


@router.put("/addTag", summary="Add tags (`a;b;`)")
def add_tag(body: TagChange, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    updating.change_tags(runtime, caller, body, add=True)
    return []


@router.delete("/removeTag", summary="Remove tags (`*` removes all)")
def remove_tag(body: TagChange, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    updating.change_tags(runtime, caller, body, add=False)
    return []


@router.get("/history/{task}", summary="Every status change of a task")
def history(task: str, runtime: RuntimeDep, caller: CallerDep) -> list[TaskEvent]:
    return reading.task_history(runtime, caller, task)
