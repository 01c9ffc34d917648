"""Triggers: the list with their process, robots and next fire times; a trigger's page (its
next fire times and what it did); create and edit in tabs (Main, Robots, Schedule, Queue,
E-mail); enable, disable, test and delete."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from robofleet.contract import TriggerStatus
from robofleet.server.domain.errors import Forbidden
from robofleet.server.schemas.base import Page as ListPage
from robofleet.server.schemas.resources import ResourceFilter
from robofleet.server.schemas.triggers import (
    HistoryQuery,
    TriggerCreate,
    TriggerFilter,
    TriggerRead,
    TriggerUpdate,
)
from robofleet.server.services.fleet import groups, robots
from robofleet.server.services.processes import crud as processes
from robofleet.server.services.resources import crud as resources
from robofleet.server.services.tasks import queues
from robofleet.server.services.triggers import crud, history, trial
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.tables import Column, Row, table_view
from robofleet.server.web.templating import status_badge

router = APIRouter(route_class=WebRoute, include_in_schema=False)

TABS: Final = (
    ("main", "Main"),
    ("robots", "Robots"),
    ("schedule", "Schedule"),
    ("queue", "Queue"),
    ("email", "E-mail"),
)
KINDS: Final = [
    ("cron", "By schedule (cron)"),
    ("last_day", "Last day of the month"),
    ("nth_day", "N-th day of the month"),
    ("continuous", "Continuous (queue or e-mail)"),
]
KIND_NAMES: Final = dict(KINDS)
WHEN_BUSY: Final = [
    ("skip", "Skip the fire"),
    ("any_free", "Any free robot of the group"),
    ("fewest_pending", "The busy robot with the fewest pending jobs"),
]
PRIORITIES: Final = [("3", "High"), ("2", "Normal"), ("1", "Low")]
TAKE_STATUSES: Final = [("InProgress", "Taken (In Progress)"), ("New", "Left New")]
STATUS_FILTERS: Final = [("1", "Enabled"), ("0", "Disabled"), ("2", "Completed")]
PREVIEW_COUNT: Final = 5
CREDENTIALS, CALENDAR = 1, 3
"""Resource types: a mailbox's login (Credentials) and working days (Calendar)."""

TEXT_FIELDS: Final = (
    "description",
    "cron_tab",
    "day_of_month",
    "time_of_day",
    "time_zone",
    "window_start",
    "window_end",
    "start_at",
    "end_at",
    "max_runs",
    "max_monthly_runs",
    "max_running_robots",
    "stop_after",
    "abort_after",
    "when_busy",
    "priority",
    "schedule_kind",
)
"""Form fields sent as they are; an empty one is "none" (cleared on edit)."""
NOT_NULL: Final = frozenset(
    {"time_zone", "max_runs", "max_monthly_runs", "max_running_robots", "when_busy", "priority"}
)
"""Fields whose column cannot be empty: an empty field leaves them as they are."""


def _link(url: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url, text)


def _robots_text(trigger: TriggerRead) -> str:
    if trigger.robot_group_name:
        return f"Group {trigger.robot_group_name}"
    return trigger.robot_name or "—"


def _row(trigger: TriggerRead) -> Row:
    return {
        "guid": trigger.guid,
        "name": trigger.name,
        "process": trigger.process_name,
        "robots": _robots_text(trigger),
        "kind": KIND_NAMES.get(trigger.schedule_kind, trigger.schedule_kind),
        "schedule": trigger.cron_tab or trigger.time_of_day or "",
        "status": trigger.status_name,
        "next_fire_at": trigger.next_fire_at,
        "last_fire_at": trigger.last_fire_at,
        "runs": trigger.runs,
    }


COLUMNS: Final = (
    Column("name", "Name", render=lambda r: _link(f"/triggers/{r['guid']}", r["name"])),
    Column("process", "Process"),
    Column("robots", "Robots"),
    Column("kind", "Type"),
    Column("schedule", "Schedule"),
    Column("status", "Status", render=lambda r: status_badge(r["status"])),
    Column("next_fire_at", "Next fire (UTC)"),
    Column("last_fire_at", "Last fire (UTC)"),
    Column("runs", "Runs", numeric=True),
)


@router.get("/triggers")
async def trigger_list(
    page: PageDep, request: Request, status: str = "", kind: str = ""
) -> Response:
    query: dict[str, Any] = {"count": 1000}
    if status:
        query["status"] = status
    if kind:
        query["schedule_kind"] = kind
    found = await page.call(crud.list_triggers, TriggerFilter.model_validate(query))
    view = table_view(
        request, [_row(t) for t in found.items], COLUMNS, default_sort="name", id="triggers"
    )
    if view.wants_csv:
        return view.csv_response("triggers")
    return page.render(
        "triggers.html",
        view=view,
        status=status,
        statuses=STATUS_FILTERS,
        kind=kind,
        kinds=KINDS,
        limited=found.total > len(found.items),
    )


async def _options(page: Page, read: Callable[..., Any]) -> list[tuple[str, str]]:
    """(GUID, name) of what the user may read, for a select; none without the right."""
    try:
        found: Sequence[Any] = await page.call(read)
    except Forbidden:
        return []
    return [(item.guid, item.name) for item in found]


async def _ids(page: Page, read: Callable[..., Any], *args: Any) -> list[tuple[str, str]]:
    """(id, name) for a select whose stored value is an id (the mail condition's)."""
    try:
        found: Any = await page.call(read, *args)
    except Forbidden:
        return []
    items = found.items if isinstance(found, ListPage) else found
    return [(str(item.id), item.name) for item in items]


async def _form(page: Page, trigger: TriggerRead | None) -> Response:
    values = _values(trigger)
    credentials = ResourceFilter.model_validate({"type": CREDENTIALS, "count": 1000})
    calendars = ResourceFilter.model_validate({"type": CALENDAR, "count": 1000})
    return page.render(
        "trigger_form.html",
        trigger=trigger,
        v=values,
        tabs=TABS,
        kinds=KINDS,
        when_busy=WHEN_BUSY,
        priorities=PRIORITIES,
        take_statuses=TAKE_STATUSES,
        processes=await _options(page, processes.list_processes),
        robots=[("", "None")] + await _options(page, robots.list_robots),
        groups=[("", "None")] + await _options(page, groups.list_groups),
        queues=[("", "None")] + await _options(page, queues.list_queues),
        credentials=[("", "None")] + await _ids(page, resources.list_resources, credentials),
        calendars=[("", "None")] + await _ids(page, resources.list_resources, calendars),
        mail_queues=[("", "None")] + await _ids(page, queues.list_queues),
        protocols=[("imap", "IMAP"), ("pop3", "POP3")],
    )


def _values(trigger: TriggerRead | None) -> dict[str, Any]:
    """The form's values: the trigger's, or a new trigger's defaults."""
    if trigger is None:
        return {
            "enabled": True,
            "schedule_kind": "cron",
            "time_zone": "UTC",
            "priority": "2",
            "parameters": "{}",
            "when_busy": "skip",
            "max_runs": "0",
            "max_monthly_runs": "0",
            "max_running_robots": "0",
            "tasks_per_job": "1",
            "min_new_tasks": "0",
            "take_status": "InProgress",
            "default_task": True,
            **MAIL_DEFAULTS,
        }
    condition = trigger.queue_condition or {}
    values: dict[str, Any] = {
        name: "" if getattr(trigger, name, None) is None else str(getattr(trigger, name))
        for name in TEXT_FIELDS
    }
    values.update(
        name=trigger.name,
        process=trigger.process_guid,
        enabled=trigger.status == TriggerStatus.ENABLED,
        robot=trigger.robot_guid or "",
        robot_group=trigger.robot_group_guid or "",
        stop_after=trigger.stop_after or "",
        abort_after=trigger.abort_after or "",
        start_at=_local(trigger.start_at),
        end_at=_local(trigger.end_at),
        check_missed_trigger=bool(trigger.check_missed_trigger),
        calendar="" if trigger.calendar_id is None else str(trigger.calendar_id),
        working_days=bool(trigger.working_days),
        skip_non_working_days=bool(trigger.skip_non_working_days),
        parameters=json.dumps(trigger.parameters, indent=2),
        queue=trigger.queue_guid or "",
        min_new_tasks=str(condition.get("min_new_tasks", 0)),
        tasks_per_job=str(condition.get("tasks_per_job", 1)),
        tags=", ".join(condition.get("tags", [])),
        take_status=condition.get("take_status", "InProgress"),
        finish_when_empty=bool(condition.get("finish_when_empty", False)),
        default_task=bool(condition.get("default_task", True)),
    )
    values.update(_mail_values(trigger.mail_condition))
    return values


MAIL_DEFAULTS: Final = {
    "mail_protocol": "imap",
    "mail_ssl": True,
    "mail_folder": "INBOX",
    "mail_unread_only": True,
    "mail_mark_read": True,
    "mail_one_job_per_mail": True,
    "mail_min_mails": "0",
    "mail_check_minutes": "10",
}
MAIL_FLAGS: Final = ("ssl", "unread_only", "mark_read", "one_job_per_mail")
MAIL_TEXTS: Final = ("protocol", "server", "port", "folder", "min_mails", "check_minutes")
MAIL_LISTS: Final = ("subject_contains", "body_contains", "attachment_masks")
MAIL_REFS: Final = ("credential_id", "queue_id")


def _mail_values(condition: dict[str, Any] | None) -> dict[str, Any]:
    if not condition:
        return dict(MAIL_DEFAULTS)
    values: dict[str, Any] = {}
    for name in MAIL_FLAGS:
        values[f"mail_{name}"] = bool(condition.get(name))
    for name in (*MAIL_TEXTS, *MAIL_REFS):
        value = condition.get(name)
        values[f"mail_{name}"] = "" if value is None else str(value)
    for name in MAIL_LISTS:
        values[f"mail_{name}"] = ", ".join(condition.get(name) or [])
    return values


def _mail_fields(form: FormData) -> dict[str, Any] | None:
    """The E-mail tab as the API's MailCondition; no server: no mail condition."""
    if not str(form.get("mail_server", "")).strip():
        return None
    fields: dict[str, Any] = {name: form.get(f"mail_{name}") == "on" for name in MAIL_FLAGS}
    for name in (*MAIL_TEXTS, *MAIL_REFS, *MAIL_LISTS):
        text = str(form.get(f"mail_{name}", "")).strip()
        if text or name in MAIL_LISTS:
            fields[name] = text
    return fields


def _local(moment: Any) -> str:
    """A UTC time for a datetime-local field (minutes)."""
    return moment.strftime("%Y-%m-%dT%H:%M") if moment is not None else ""


def _fields(form: FormData, *, editing: bool) -> dict[str, Any]:
    """The tabs' fields as the API's request fields. On edit an empty field clears what it
    may clear; on create an empty field is not given (the default)."""
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        text = str(form.get(name, "")).strip()
        if text:
            fields[name] = text
        elif editing and name not in NOT_NULL:
            fields[name] = None
    kind = fields.get("schedule_kind")
    for name in ("cron_tab", "day_of_month", "time_of_day"):
        used = {"cron_tab": {"cron"}, "day_of_month": {"nth_day"}}.get(
            name, {"last_day", "nth_day"}
        )
        if kind not in used:
            fields.pop(name, None)  # a field of another kind, left filled in: not sent
    fields["status"] = 1 if form.get("enabled") == "on" else 0
    for flag in ("check_missed_trigger", "working_days", "skip_non_working_days"):
        fields[flag] = form.get(flag) == "on"
    fields["parameters"] = str(form.get("parameters", ""))
    for name in ("name", "process", "robot", "robot_group", "queue", "calendar"):
        text = str(form.get(name, "")).strip()
        if text:
            fields[name] = text
        elif editing and name in {"robot", "robot_group", "queue", "calendar"}:
            fields[name] = None
    if fields.get("queue"):
        fields["queue_condition"] = {
            "min_new_tasks": str(form.get("min_new_tasks", "")).strip() or 0,
            "tasks_per_job": str(form.get("tasks_per_job", "")).strip() or 1,
            "tags": str(form.get("tags", "")),
            "take_status": str(form.get("take_status", "InProgress")),
            "finish_when_empty": form.get("finish_when_empty") == "on",
            "default_task": form.get("default_task") == "on",
        }
    mail = _mail_fields(form)
    if mail is not None or editing:
        fields["mail_condition"] = mail
    return fields


@router.get("/triggers/new")
async def new_trigger(page: PageDep) -> Response:
    return await _form(page, None)


@router.post("/triggers/new")
async def create_trigger(page: PageDep) -> Response:
    form = await page.form()
    data = TriggerCreate.model_validate(_fields(form, editing=False))
    created = await page.call(crud.create_trigger, data)
    return page.redirect(f"/triggers/{created.guid}", message="Trigger created.")


@router.get("/triggers/{guid}")
async def trigger_page(page: PageDep, guid: str) -> Response:
    trigger = await page.call(crud.read_trigger, guid)
    preview = await page.call(history.preview_trigger, trigger.guid, PREVIEW_COUNT)
    fires = await page.call(
        history.trigger_history, trigger.guid, HistoryQuery.model_validate({"count": 20})
    )
    return page.render(
        "trigger.html",
        trigger=trigger,
        preview=preview,
        fires=fires.items,
        kind=KIND_NAMES.get(trigger.schedule_kind, trigger.schedule_kind),
        robots=_robots_text(trigger),
        parameters=json.dumps(trigger.parameters, indent=2),
    )


@router.get("/triggers/{guid}/edit")
async def edit_trigger(page: PageDep, guid: str) -> Response:
    return await _form(page, await page.call(crud.read_trigger, guid))


@router.post("/triggers/{guid}/edit")
async def update_trigger(page: PageDep, guid: str) -> Response:
    form = await page.form()
    data = TriggerUpdate.model_validate({**_fields(form, editing=True), "guid": guid})
    await page.call(crud.update_trigger, data)
    return page.redirect(f"/triggers/{guid}", message="Trigger saved.")


@router.post("/triggers/{guid}/enable")
async def enable_trigger(page: PageDep, guid: str) -> Response:
    await page.call(crud.set_enabled, guid, enabled=True)
    return page.redirect(f"/triggers/{guid}", message="Trigger enabled.")


@router.post("/triggers/{guid}/disable")
async def disable_trigger(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Disable this trigger? It fires no more until enabled.", form)
    await page.call(crud.set_enabled, guid, enabled=False)
    return page.redirect(f"/triggers/{guid}", message="Trigger disabled.")


@router.post("/triggers/{guid}/test")
async def test_trigger(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Test this trigger? It creates a job now.", form)
    result = await page.call(trial.try_trigger, guid)
    if result.created:
        return page.redirect(
            f"/triggers/{guid}", message=f"Test: job {result.job_guid} created. {result.detail}"
        )
    return page.redirect(f"/triggers/{guid}", error=f"Test: no job created. {result.detail}")


@router.post("/triggers/{guid}/delete")
async def delete_trigger(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this trigger?", form)
    await page.call(crud.delete_trigger, guid)
    return page.redirect("/triggers", message="Trigger deleted.")
