"""Calendar resources (Type 3) as JSON documents and iCalendar files."""

from __future__ import annotations

from robofleet.calendars import Calendar, CalendarError, from_ics, to_ics
from robofleet.server.db.tables import ResourceRow
from robofleet.server.domain.errors import Conflict, InvalidInput
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.resources import CalendarDocument, CalendarImport
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.resources.crud import CALENDAR
from robofleet.server.services.resources.scope import find_resource


def _calendar_row(row: ResourceRow) -> ResourceRow:
    """The stored resource's type, not the request, is what conflicts: 409."""
    if row.type != CALENDAR:
        raise Conflict(f"resource '{row.name}' is not a calendar (Type 3)", code="not_a_calendar")
    return row


def _calendar_of(row: ResourceRow) -> Calendar:
    try:
        return Calendar.from_json(row.text)
    except CalendarError as exc:
        # Stored text was checked on write; an older row may predate a rule.
        raise InvalidInput.for_field("Text", f"the stored calendar is not valid: {exc}") from None


def read_calendar(runtime: Runtime, caller: Caller, ref: int | str) -> CalendarDocument:
    caller.require(Screen.RESOURCE, Action.READ)
    with runtime.db.read() as session:
        row = _calendar_row(find_resource(session, caller, ref, field="ref"))
        return CalendarDocument.model_validate(_calendar_of(row).to_dict())


def export_ics(runtime: Runtime, caller: Caller, ref: int | str) -> str:
    caller.require(Screen.RESOURCE, Action.READ)
    with runtime.db.read() as session:
        row = _calendar_row(find_resource(session, caller, ref, field="ref"))
        return to_ics(_calendar_of(row), row.name)


def import_calendar(runtime: Runtime, caller: Caller, data: CalendarImport) -> None:
    """Replaces the calendar's dates. An .ics carries no weekly weekend, so the resource
    keeps its own."""
    caller.require(Screen.RESOURCE, Action.UPDATE)
    kind = data.format or ("ics" if data.content.lstrip().upper().startswith("BEGIN:") else "json")
    with runtime.db.write(actor=caller.actor()) as session:
        row = _calendar_row(find_resource(session, caller, data.guid, for_update=True))
        try:
            if kind == "ics":
                calendar = from_ics(data.content, weekend=_calendar_of(row).weekend)
            else:
                calendar = Calendar.from_json(data.content)
        except CalendarError as exc:
            raise InvalidInput.for_field("Content", f"is not a calendar: {exc}") from None
        row.text = calendar.to_json()
