"""Resource tab (Sherpa's assets) and calendar import/export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import GuidResponse, Page
from robofleet.server.schemas.resources import (
    CalendarDocument,
    CalendarImport,
    ResourceCreate,
    ResourceFilter,
    ResourceRead,
    ResourceUpdate,
)
from robofleet.server.services.resources import calendars, crud

router = sherpa_router("Resource", prefix="/api/asset")

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
AMBIGUOUS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "A user named a name several scopes share (ambiguous_name): read by GUID.",
        "content": _ERROR,
    }
}
NOT_A_CALENDAR: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The resource is not a calendar (not_a_calendar), or the name is "
        "ambiguous (ambiguous_name).",
        "content": _ERROR,
    }
}


@router.post("/create", summary="Create a resource (credentials, text or calendar)")
def create_resource(body: ResourceCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    """Scope: `RobotType` 3 all robots, 2 one robot group (`RobotGroupId`), 1 one robot
    (`RobotId`); one name once per scope (409 otherwise). A robot creates only for itself."""
    return crud.create_resource(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a resource by id, GUID or name", responses=AMBIGUOUS)
def read_resource(guid: str, runtime: RuntimeDep, caller: CallerDep) -> ResourceRead:
    """A robot naming a resource gets the most specific one it is entitled to (its own,
    then its group's, then all robots'); others answer 404. A user naming a name shared by
    several scopes gets 409 listing their GUIDs."""
    return crud.read_resource(runtime, caller, guid)


@router.get("/list", summary="List resources with filters and paging (passwords masked)")
def list_resources_get(
    query: Annotated[ResourceFilter, Query()], runtime: RuntimeDep, caller: CallerDep
) -> Page[ResourceRead]:
    return crud.list_resources(runtime, caller, query)


@router.post("/list", summary="List resources with filters in the body")
def list_resources_post(
    body: ResourceFilter, runtime: RuntimeDep, caller: CallerDep
) -> Page[ResourceRead]:
    return crud.list_resources(runtime, caller, body)


@router.put("/update", summary="Update a resource")
def update_resource(body: ResourceUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    """Sherpa's framework sends the form `guid, name, text, password` as the robot."""
    crud.update_resource(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete a resource")
def delete_resource(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    crud.delete_resource(runtime, caller, guid)
    return []


@router.get(
    "/calendar/{ref}.ics",
    summary="A calendar resource as iCalendar",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {"schema": {"type": "string"}}}},
        **NOT_A_CALENDAR,
    },
)
def export_calendar_ics(ref: str, runtime: RuntimeDep, caller: CallerDep) -> Response:
    text = calendars.export_ics(runtime, caller, ref)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calendar.ics"'},
    )


@router.get("/calendar/{ref}", summary="A calendar resource as JSON", responses=NOT_A_CALENDAR)
def read_calendar(ref: str, runtime: RuntimeDep, caller: CallerDep) -> CalendarDocument:
    return calendars.read_calendar(runtime, caller, ref)


@router.post("/calendar/import", summary="Replace a calendar's dates from JSON or iCalendar")
def import_calendar(body: CalendarImport, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    calendars.import_calendar(runtime, caller, body)
    return []
