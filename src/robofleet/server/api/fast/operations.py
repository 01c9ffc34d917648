"""The hot operations the front answers, each calling the service its FastAPI route calls.

A body is validated with the route's own request model; the answer is rendered once, the
way the route renders it (`ModelResponse`, or FastAPI's serialisation of the same model)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import BaseModel
from starlette.types import Receive

from robofleet.contract import IDEMPOTENCY_KEY_HEADER
from robofleet.server.api.fast.wire import header_text
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.jobs import JobCreate, JobUpdate
from robofleet.server.schemas.log_batch import parse_batch
from robofleet.server.schemas.queues import (
    BulkCreate,
    FinishRequest,
    RenewRequest,
    TakeRequest,
    TaskCreate,
)
from robofleet.server.schemas.rendered import RenderedJson
from robofleet.server.schemas.robots import ConsumeRequest, HeartbeatRequest, WaitJobRequest
from robofleet.server.services import logs
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.jobs import crud as jobs
from robofleet.server.services.jobs import (
    lean_consume,
    lean_create,
    lean_heartbeat,
    lean_update,
    robot_protocol,
)
from robofleet.server.services.logs import lean_batch
from robofleet.server.services.resources import crud as resources
from robofleet.server.services.tasks import add_on_driver, adding, on_driver, on_lane
from robofleet.server.services.tasks import leases as task_leases

Offload = Callable[..., Awaitable[Any]]
"""Runs a blocking function on the front's threads: offload(fn, *args)."""

_IDEMPOTENCY_KEY = IDEMPOTENCY_KEY_HEADER.lower().encode()


@dataclass(frozen=True)
class Invocation:
    runtime: Runtime
    caller: Caller
    body: Any
    """The validated request model, or the raw body for an operation without a model."""
    headers: dict[bytes, bytes]
    path_value: str
    """The `{param}` of a path-parameter operation; "" for the others."""
    receive: Receive
    offload: Offload
    offload_write: Offload
    """offload for a call that writes: on SQLite, many such calls share a commit."""
    offload_statements: Offload
    """offload_write for a call whose only blocking work is its SQLite statements (a lean
    write): on SQLite it runs on the event loop's thread."""


Answer = BaseModel | list[Any] | RenderedJson


@dataclass(frozen=True)
class HotOperation:
    method: str
    path: str
    """The exact path; for a path-parameter operation the path up to its parameter."""
    model: type[BaseModel] | None
    """The request model of the route; None: the operation reads the raw JSON body."""
    run: Callable[[Invocation], Awaitable[Answer]]
    exclude_none: bool = False
    path_parameter: bool = False


OnLane = Callable[[Runtime, Caller, Any, Offload], Awaitable[Answer | None]]
"""A lean write on SQLite settled on the loop, only its statements in the write lane's group
(Invocation.offload_statements)."""


def _lean(
    on_loop: Callable[[Runtime, Caller, Any], Awaitable[Answer | None]],
    blocking: Callable[[Runtime, Caller, Any], Answer],
    on_lane: OnLane | None = None,
) -> Callable[[Invocation], Awaitable[Answer]]:
    """Awaits `on_loop` (PostgreSQL's async driver, services.tasks.on_driver), then on
    SQLite `on_lane`; where neither answers (None: a case they leave) the blocking service
    answers: on SQLite on the write lane (where its lean statements share commits; its
    session path, if it comes to that, runs again on the front's threads), else on the
    front's threads."""

    async def run(invocation: Invocation) -> Answer:
        runtime, caller, body = invocation.runtime, invocation.caller, invocation.body
        answer = await on_loop(runtime, caller, body)
        if answer is None and on_lane is not None:
            answer = await on_lane(runtime, caller, body, invocation.offload_statements)
        if answer is not None:
            return answer
        fallback: Answer = await invocation.offload_write(blocking, runtime, caller, body)
        return fallback

    return run


def _updated_job(runtime: Runtime, caller: Caller, data: JobUpdate) -> list[Any]:
    """The update the driver pool did not answer: on PostgreSQL the lean statement has run
    (and written nothing), so the session path answers; on SQLite `update_job` tries its
    own lean statements first."""
    if runtime.driver_pool is not None:
        jobs.session_update_job(runtime, caller, data)
    else:
        jobs.update_job(runtime, caller, data)
    return []


async def _wait_job(call: Invocation) -> Answer:
    async def client_gone() -> None:
        # The body is read: the next message for this request is the disconnect.
        while (await call.receive())["type"] != "http.disconnect":
            pass

    return await robot_protocol.wait_job(
        call.runtime, call.caller, call.body, client_gone=client_gone
    )


async def _log_batch(call: Invocation) -> Answer:
    """A robot's batch for its own job (or none) lean (services.logs.lean_batch): on
    PostgreSQL's driver pool on the loop, on SQLite on the write lane; anything else, or a
    batch the lean write left, on the session path."""
    runtime = call.runtime
    lines = parse_batch(call.body)
    batch = lean_batch.plan(runtime, call.caller, lines)
    if batch is not None:
        written: Answer | None = None
        if runtime.driver_pool is not None:
            written = await lean_batch.write_on_driver(runtime, batch)
        elif runtime.db.raw_writes:
            written = await call.offload_statements(lean_batch.write_raw, runtime, batch)
        if written is not None:
            return written
    session_path = partial(logs.ingest_batch, rate_taken=batch is not None)
    answer: Answer = await call.offload(session_path, runtime, call.caller, lines)
    return answer


async def _read_resource(call: Invocation) -> Answer:
    """The common case without a thread hop: on PostgreSQL's driver pool, on SQLite on the
    loop's own connection; else the session path on the front's threads."""
    runtime, caller, ref = call.runtime, call.caller, call.path_value
    answer = await resources.read_resource_on_driver(runtime, caller, ref)
    if answer is None:
        answer = resources.read_resource_on_loop(runtime, caller, ref)
    if answer is not None:
        return answer
    # The lean read was tried (and the right checked) where there is a pool or SQLite;
    # otherwise read_resource tries it first.
    tried = runtime.driver_pool is not None or runtime.db.raw_writes
    reader = resources.session_read_resource if tried else resources.read_resource
    read: Answer = await call.offload(reader, runtime, caller, ref)
    return read


async def _heartbeat(call: Invocation) -> Answer:
    """The lean statement: on PostgreSQL's driver pool on the loop, on SQLite on the write
    lane. The heartbeats it leaves (a robot holding a job, another robot named, a key's
    call) take the session path on the front's threads."""
    runtime, caller, data = call.runtime, call.caller, call.body
    answer = await lean_heartbeat.heartbeat_on_driver(runtime, caller, data)
    if answer is None and runtime.db.raw_writes:
        answer = await call.offload_statements(lean_heartbeat.lean_heartbeat, runtime, caller, data)
    if answer is not None:
        return answer
    session: Answer = await call.offload(robot_protocol.session_heartbeat, runtime, caller, data)
    return session


async def _create_task(call: Invocation) -> Answer:
    """On PostgreSQL's driver pool where it can (services.tasks.add_on_driver), on SQLite
    with only its statements on the write lane (services.tasks.on_lane); else create_task
    (on the lane on SQLite, where it tries the lean add again before its session path)."""
    key = header_text(call.headers, _IDEMPOTENCY_KEY)
    answer = await add_on_driver.create(call.runtime, call.caller, call.body, key)
    if answer is None:
        answer = await on_lane.add(
            call.runtime, call.caller, call.body, key, call.offload_statements
        )
    if answer is not None:
        return answer
    created: Answer = await call.offload_write(
        partial(adding.create_task, idempotency_key=key), call.runtime, call.caller, call.body
    )
    return created


async def _bulk_create(call: Invocation) -> Answer:
    """As _create_task, for a bulk add."""
    key = header_text(call.headers, _IDEMPOTENCY_KEY)
    answer = await add_on_driver.bulk_create(call.runtime, call.caller, call.body, key)
    if answer is None:
        runtime, caller, offload = call.runtime, call.caller, call.offload_write
        answer = await on_lane.bulk_add(runtime, caller, call.body, key, offload)
    if answer is not None:
        return answer
    created: Answer = await call.offload_write(
        partial(adding.bulk_create, idempotency_key=key), call.runtime, call.caller, call.body
    )
    return created


HOT_OPERATIONS: tuple[HotOperation, ...] = (
    HotOperation(
        "POST",
        "/api/robot/heartbeat",
        HeartbeatRequest,
        _heartbeat,
    ),
    HotOperation(
        "POST",
        "/api/robot/consumeNextJob",
        ConsumeRequest,
        _lean(lean_consume.consume_on_driver, robot_protocol.consume_after_driver),
    ),
    HotOperation("POST", "/api/robot/waitJob", WaitJobRequest, _wait_job),
    HotOperation(
        "POST",
        "/api/job/create",
        JobCreate,
        _lean(lean_create.create_on_driver, lean_create.create_after_driver),
    ),
    HotOperation(
        "PUT", "/api/job/update", JobUpdate, _lean(lean_update.update_on_driver, _updated_job)
    ),
    HotOperation(
        "POST", "/api/job/update", JobUpdate, _lean(lean_update.update_on_driver, _updated_job)
    ),
    HotOperation(
        "POST",
        "/api/task/take",
        TakeRequest,
        _lean(on_driver.take, task_leases.take_tasks, on_lane.take),
    ),
    HotOperation(
        "POST",
        "/api/task/finish",
        FinishRequest,
        _lean(on_driver.finish, task_leases.finish_tasks, on_lane.finish),
    ),
    HotOperation(
        "POST",
        "/api/task/renew",
        RenewRequest,
        _lean(on_driver.renew, task_leases.renew_leases),
    ),
    HotOperation("POST", "/api/task/create", TaskCreate, _create_task),
    HotOperation("POST", "/api/task/bulkCreate", BulkCreate, _bulk_create),
    HotOperation("POST", "/api/log/batch", None, _log_batch, exclude_none=True),
    HotOperation(
        "GET",
        "/api/asset/read/",
        None,
        _read_resource,
        path_parameter=True,
    ),
)
