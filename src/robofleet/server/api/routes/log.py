"""Log tab (robot messages)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.log_batch import batch_request_schema, parse_batch
from robofleet.server.schemas.logs import (
    LogCreate,
    LogCreated,
    LogFilter,
    LogPurge,
    LogRead,
    LogTail,
)
from robofleet.server.services import logs

router = sherpa_router("Log", prefix="/api/log")

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "The robot writes more lines a second than allowed; nothing was "
        "stored. Send the same lines again after `Retry-After` seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
        "content": ERROR,
    }
}
LOG_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The line's id."},
        "event": {"const": "log"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/LogRead"},
        },
    },
    "required": ["id", "event", "data"],
}
NEXT_CURSOR = {
    "X-Next-Cursor": {
        "description": "Send as `Cursor` for the next page; absent after the last page.",
        "schema": {"type": "string"},
    }
}


@router.post(
    "/create",
    summary="Write one log line (answers its guid), or many with `Lines` (answers the count)",
    response_model_exclude_none=True,
    responses=RATE_LIMITED,
)
def create_log(body: LogCreate, runtime: RuntimeDep, caller: CallerDep) -> LogCreated:
    return logs.create_logs(runtime, caller, body)


@router.post(
    "/batch",
    summary="Write many log lines in one request (Robofleet; what agents use)",
    response_model_exclude_none=True,
    responses=RATE_LIMITED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": batch_request_schema()}},
        }
    },
)
async def batch_logs(request: Request, runtime: RuntimeDep, caller: CallerDep) -> LogCreated:
    """JSON only: `{"Lines": [...]}` or a bare list of lines (the fields of /create); up to
    5000 lines, stored all or none. Answers `{"count"}`."""
    lines = parse_batch(await request.body())
    return await run_in_threadpool(logs.ingest_batch, runtime, caller, lines)


@router.get("/read/{guid}", summary="Read a log line")
def read_log(guid: str, runtime: RuntimeDep, caller: CallerDep) -> LogRead:
    return logs.read_log(runtime, caller, guid)


@router.post(
    "/list",
    summary="List log lines (filters in the body)",
    responses={200: {"headers": NEXT_CURSOR}},
)
def list_logs(
    runtime: RuntimeDep, caller: CallerDep, response: Response, body: LogFilter | None = None
) -> list[LogRead]:
    """Newest first; with `AfterId`, oldest first from that id on (for following a job).
    The next page: send the answer's `X-Next-Cursor` header back as `Cursor`."""
    page = logs.list_logs(runtime, caller, body or LogFilter())
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return page.lines


@router.get(
    "/list",
    summary="List log lines (filters in the query)",
    responses={200: {"headers": NEXT_CURSOR}},
)
def list_logs_get(
    query: Annotated[LogFilter, Query()], runtime: RuntimeDep, caller: CallerDep, response: Response
) -> list[LogRead]:
    page = logs.list_logs(runtime, caller, query)
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return page.lines


@router.get(
    "/tail",
    summary="Follow log lines live (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`text/event-stream`: one `log` event per line (its id is the "
            "line's id, its data the line as /read answers it), and keep-alive comments.",
            "content": {"text/event-stream": {"schema": LOG_EVENT}},
        }
    },
)
async def tail_logs(
    query: Annotated[LogTail, Query()],
    runtime: RuntimeDep,
    caller: CallerDep,
    last_event_id: Annotated[str, Header(pattern="^[0-9]{0,18}$")] = "",
) -> StreamingResponse:
    """Lines of one job (`Job`), or of the account, as they are written. The stream ends
    after `Timeout` seconds; reconnect with `Last-Event-ID` to go on without a gap."""
    tail = await run_in_threadpool(logs.open_tail, runtime, caller, query, last_event_id)
    return StreamingResponse(
        tail.events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/screenshot/{guid}",
    summary="The screenshot of a log line",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The image, with its media type.",
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def read_screenshot(guid: str, runtime: RuntimeDep, caller: CallerDep) -> StreamingResponse:
    chunks, media_type, size = logs.read_screenshot(runtime, caller, guid)
    headers = {"Content-Length": str(size)} if size is not None else {}
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


@router.delete("/purge", summary="Delete this account's log lines older than a time")
def purge_logs(body: LogPurge, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    logs.purge_logs(runtime, caller, body)
    return []
