"""The calendar editor of a calendar resource: a month of working, non-working and holiday
days, the weekly days off, and JSON or iCalendar import and export."""

from __future__ import annotations

import calendar as month_grid
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from fastapi import APIRouter, Response
from starlette.datastructures import UploadFile

from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.schemas.resources import CALENDAR_TEXT_LIMIT, CalendarDocument, CalendarImport
from robofleet.server.services.resources import calendars, crud
from robofleet.server.web.pages import PageDep, WebRoute
from robofleet.server.web.screens.resources import masked

router = APIRouter(route_class=WebRoute, include_in_schema=False)

DAY_STATES: Final = (("working", "Working"), ("non_working", "Non-working"), ("holiday", "Holiday"))
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- the calendar editor -----------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    state: str
    weekend: bool

    @property
    def label(self) -> str:
        return f"{WEEKDAYS[self.day.weekday()]} {self.day.day} {self.day:%B %Y}"


def _month(text: str | None) -> date:
    try:
        year, month = (int(part) for part in (text or "").split("-", 1))
        return date(year, month, 1)
    except ValueError:
        today = date.today()
        return date(today.year, today.month, 1)


def _shifted(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _state(document: CalendarDocument, day: date) -> str:
    iso = day.isoformat()
    if iso in document.holidays:
        return "holiday"
    if iso in document.working:
        return "working"
    if iso in document.non_working or day.isoweekday() in document.weekend:
        return "non_working"
    return "working"


def _weeks(document: CalendarDocument, first: date) -> list[list[Day | None]]:
    return [
        [
            None
            if number == 0
            else Day(
                date(first.year, first.month, number),
                _state(document, date(first.year, first.month, number)),
                date(first.year, first.month, number).isoweekday() in document.weekend,
            )
            for number in week
        ]
        for week in month_grid.Calendar(firstweekday=0).monthdayscalendar(first.year, first.month)
    ]


def edited_calendar(
    document: CalendarDocument, first: date, weekend: list[int], states: Mapping[date, str]
) -> dict[str, Any]:
    """The calendar after a month's days were set: that month's dates replaced by the ones
    that differ from the weekly pattern (a holiday is always listed), other months kept."""

    def other_months(days: list[str]) -> set[str]:
        prefix = f"{first:%Y-%m}-"
        return {d for d in days if not d.startswith(prefix)}

    working, non_working, holidays = (
        other_months(document.working),
        other_months(document.non_working),
        other_months(document.holidays),
    )
    for day, state in states.items():
        off_by_default = day.isoweekday() in weekend
        if state == "holiday":
            holidays.add(day.isoformat())
        elif state == "working" and off_by_default:
            working.add(day.isoformat())
        elif state == "non_working" and not off_by_default:
            non_working.add(day.isoformat())
    return {
        "weekend": sorted(set(weekend)),
        "working": sorted(working),
        "non_working": sorted(non_working),
        "holidays": sorted(holidays),
    }


@router.get("/resources/{guid}/calendar")
async def calendar_editor(page: PageDep, guid: str, month: str = "") -> Response:
    resource = masked(await page.call(crud.read_resource, guid))
    document: CalendarDocument = await page.call(calendars.read_calendar, guid)
    first = _month(month or None)
    return page.render(
        "resources/calendar.html",
        resource=resource,
        document=document,
        first=first,
        previous=_shifted(first, -1),
        next=_shifted(first, 1),
        weeks=_weeks(document, first),
        weekdays=WEEKDAYS,
        states=DAY_STATES,
        may_edit=page.can(Screen.RESOURCE, Action.UPDATE),
    )


@router.post("/resources/{guid}/calendar")
async def calendar_save(page: PageDep, guid: str) -> Response:
    form = await page.form()
    first = _month(str(form.get("month", "")))
    weekend = [int(v) for v in form.getlist("weekend") if isinstance(v, str) and v.isdigit()]
    states: dict[date, str] = {}
    for key, value in form.items():
        if key.startswith("day-") and value in {s for s, _ in DAY_STATES}:
            try:
                day = date.fromisoformat(key[4:])
            except ValueError:
                continue
            if (day.year, day.month) == (first.year, first.month):
                states[day] = str(value)
    document: CalendarDocument = await page.call(calendars.read_calendar, guid)
    content = json.dumps(edited_calendar(document, first, weekend, states))
    data = CalendarImport.model_validate({"guid": guid, "content": content, "format": "json"})
    await page.call(calendars.import_calendar, data)
    return page.redirect(
        f"/resources/{guid}/calendar?month={first:%Y-%m}", message="Calendar saved."
    )


@router.get("/resources/{guid}/calendar.json")
async def calendar_export(page: PageDep, guid: str) -> Response:
    document: CalendarDocument = await page.call(calendars.read_calendar, guid)
    return Response(
        json.dumps(document.model_dump(), indent=2) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="calendar-{guid}.json"'},
    )


@router.get("/resources/{guid}/calendar.ics")
async def calendar_export_ics(page: PageDep, guid: str) -> Response:
    text: str = await page.call(calendars.export_ics, guid)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calendar-{guid}.ics"'},
    )


@router.post("/resources/{guid}/calendar/import")
async def calendar_import(page: PageDep, guid: str) -> Response:
    form = await page.form()
    upload = form.get("file")
    content = ""
    if isinstance(upload, UploadFile) and upload.filename:
        content = (await upload.read(CALENDAR_TEXT_LIMIT + 1)).decode("utf-8", errors="replace")
    if not content.strip():
        content = str(form.get("content", ""))
    if not content.strip():
        return page.redirect(
            f"/resources/{guid}/calendar", error="Choose a calendar file or paste its JSON."
        )
    data = CalendarImport.model_validate({"guid": guid, "content": content})
    await page.call(calendars.import_calendar, data)
    return page.redirect(f"/resources/{guid}/calendar", message="Calendar imported.")
