"""Log tab (robot messages)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.logs import LogCreate, LogCreated, LogFilter, LogPurge, LogRead
from robofleet.server.services import logs

router = sherpa_router("Log", prefix="/api/log")


@router.post(
    "/create",
    summary="Write one log line (answers its guid), or many with `Lines` (answers the count)",
    response_model_exclude_none=True,
)
def create_log(body: LogCreate, runtime: RuntimeDep, caller: CallerDep) -> LogCreated:
    return logs.create_logs(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a log line")
def read_log(guid: str, runtime: RuntimeDep, caller: CallerDep) -> LogRead:
    return logs.read_log(runtime, caller, guid)


@router.post("/list", summary="List log lines (filters in the body)")
def list_logs(
    runtime: RuntimeDep, caller: CallerDep, body: LogFilter | None = None
) -> list[LogRead]:
    """Newest first; with `AfterId`, oldest first from that id on (for following a job)."""
    return logs.list_logs(runtime, caller, body or LogFilter())


@router.get("/list", summary="List log lines (filters in the query)")
def list_logs_get(
    query: Annotated[LogFilter, Query()], runtime: RuntimeDep, caller: CallerDep
) -> list[LogRead]:
    return logs.list_logs(runtime, caller, query)


@router.delete("/purge", summary="Delete this account's log lines older than a time")
def purge_logs(body: LogPurge, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    logs.purge_logs(runtime, caller, body)
    return []
