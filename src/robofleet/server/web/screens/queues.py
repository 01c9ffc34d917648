"""Queues and their tasks: the queues with their counts per status (live), a queue's
settings, status chart and filtered tasks, adding a task, a task's parameters and history,
and status changes of many tasks at once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from robofleet.contract import TaskStatus
from robofleet.server.domain.errors import InvalidInput, RobofleetError
from robofleet.server.schemas.queues import (
    QueueCreate,
    QueueRead,
    QueueUpdate,
    TaskCreate,
    TaskFilter,
    TaskRead,
    TaskUpdate,
)
from robofleet.server.services.tasks import adding, queues, reading, updating
from robofleet.server.web.charts import donut, stacked_bars
from robofleet.server.web.live import change_stream
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.tables import Column, Row, table_view
from robofleet.server.web.templating import status_badge

router = APIRouter(route_class=WebRoute, include_in_schema=False)

STATUSES: Final = [(str(int(s)), s.label) for s in TaskStatus]
PRIORITIES: Final = [("3", "High"), ("2", "Normal"), ("1", "Low")]
PRIORITY_NAMES: Final = {int(value): text for value, text in PRIORITIES}
BULK_STATUSES: Final = [
    (str(int(s)), s.label)
    for s in TaskStatus
    if s not in (TaskStatus.IN_PROGRESS, TaskStatus.POSTPONED)
]
"""Statuses an operator sets by hand on many tasks (In Progress is a take, Postponed needs
a time: both on the task's own page)."""
TASK_LIMIT: Final = 1000
"""The newest tasks a queue page lists (the service's largest page)."""

SETTING_FLAGS: Final = (
    ("unique_tasks", "Unique task names"),
    ("auto_change_status", "Fail the task when its job fails"),
    ("retry_application", "Retry Failed (Application)"),
    ("retry_business", "Retry Failed (Business)"),
    ("retry_abandoned", "Retry Abandoned"),
)
SETTING_NUMBERS: Final = (
    ("max_retries", "Retries after the first try", "0 to 100"),
    ("retry_delay_seconds", "Retry delay (seconds)", ""),
    ("lease_seconds", "Lease (seconds)", "How long a take holds a task unrenewed (5 to 86400)."),
    ("abandon_new_minutes", "Abandon New after (minutes)", "Empty: never."),
    ("abandon_in_progress_minutes", "Abandon In Progress after (minutes)", "Empty: never."),
)


def _link(url: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url, text)


# --- Queues ---------------------------------------------------------------------------------


def _queue_columns() -> list[Column]:
    columns = [Column("name", "Name", render=lambda r: _link(f"/queues/{r['guid']}", r["name"]))]
    columns += [Column(s.label, s.label, numeric=True) for s in TaskStatus]
    columns += [
        Column("total", "Total", numeric=True),
        Column("unique_tasks", "Unique names"),
        Column("max_retries", "Retries", numeric=True),
        Column("lease_seconds", "Lease (s)", numeric=True),
        Column("description", "Description"),
    ]
    return columns


@router.get("/queues")
async def queue_list(page: PageDep, request: Request, fragment: str = "") -> Response:
    found = await page.call(queues.list_queues)
    rows: list[Row] = [
        {
            **q.model_dump(),
            **q.counts,
            "total": sum(q.counts.values()),
            "unique_tasks": bool(q.unique_tasks),
        }
        for q in found
    ]
    view = table_view(request, rows, _queue_columns(), default_sort="name", id="queues")
    view.params.pop("fragment", None)  # the table's own links lead to the whole page
    if view.wants_csv:
        return view.csv_response("queues")
    chart = stacked_bars(
        "Tasks per queue by status (this page's queues)",
        [str(row["name"]) for row in view.rows],
        {s.label: [int(row[s.label]) for row in view.rows] for s in TaskStatus},
    )
    fragment_url = view.url(fragment="table")
    template = "queues_table.html" if fragment else "queues.html"
    return page.render(template, view=view, fragment_url=fragment_url, chart=chart)


@router.get("/queues/events")
async def queue_list_events(page: PageDep, request: Request) -> Response:
    await page.call(queues.list_queues)  # the right to read them, checked once

    def probe() -> tuple[tuple[str, tuple[int, ...]], ...]:
        found = queues.list_queues(page.runtime, page.caller)
        return tuple((q.guid, tuple(q.counts.values())) for q in found)

    return change_stream(request, probe)


@router.get("/queues/new")
async def new_queue(page: PageDep) -> Response:
    return page.render("queue_form.html", queue=None, flags=SETTING_FLAGS, numbers=SETTING_NUMBERS)


def _settings(form: FormData, *, editing: bool) -> dict[str, Any]:
    """The settings fields of the queue form as the API's request fields: an empty number is
    not given; an unticked box is false."""
    fields: dict[str, Any] = {"description": str(form.get("description", ""))}
    for name, _ in SETTING_FLAGS:
        fields[name] = form.get(name) == "on"
    for name, _, _ in SETTING_NUMBERS:
        value = str(form.get(name, "")).strip()
        if value:
            fields[name] = value
    name = str(form.get("name", "")).strip()
    if name or not editing:
        fields["name"] = name
    return fields


@router.post("/queues/new")
async def create_queue(page: PageDep) -> Response:
    form = await page.form()
    data = QueueCreate.model_validate(_settings(form, editing=False))
    created = await page.call(queues.create_queue, data)
    return page.redirect(f"/queues/{created.guid}", message="Queue created.")


@router.get("/queues/{guid}/edit")
async def edit_queue(page: PageDep, guid: str) -> Response:
    queue = await page.call(queues.read_queue, guid)
    return page.render("queue_form.html", queue=queue, flags=SETTING_FLAGS, numbers=SETTING_NUMBERS)


@router.post("/queues/{guid}/edit")
async def update_queue(page: PageDep, guid: str) -> Response:
    form = await page.form()
    data = QueueUpdate.model_validate({"guid": guid, **_settings(form, editing=True)})
    await page.call(queues.update_queue, data)
    return page.redirect(f"/queues/{guid}", message="Queue saved.")


@router.post("/queues/{guid}/delete")
async def delete_queue(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this queue and hide its tasks?", form)
    await page.call(queues.delete_queue, guid)
    return page.redirect("/queues", message="Queue deleted.")


# --- One queue and its tasks ----------------------------------------------------------------


def _task_columns() -> list[Column]:
    return [
        Column("name", "Name", render=lambda r: _link(f"/tasks/{r['guid']}", r["name"])),
        Column("status_name", "Status", render=lambda r: status_badge(r["status_name"])),
        Column("priority_name", "Priority"),
        Column("tags", "Tags"),
        Column("created", "Created"),
        Column("updated", "Updated"),
        Column("retries", "Retries", numeric=True),
        Column("guid", "GUID", sortable=False),
    ]


def _task_row(task: TaskRead) -> Row:
    return {
        "guid": task.guid,
        "name": task.name,
        "status_name": task.status_name,
        "priority_name": PRIORITY_NAMES.get(task.priority, str(task.priority)),
        "tags": task.tags.strip(";").replace(";", ", "),
        "created": task.created,
        "updated": task.updated,
        "retries": task.retries,
    }


def _day(params: Mapping[str, str], name: str) -> date | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.for_field(name, "is not a date: use YYYY-MM-DD") from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _task_filter(params: Mapping[str, str]) -> tuple[TaskFilter, datetime | None]:
    """The filter fields of the queue page's query, as the API's filter."""
    since, until = _day(params, "from"), _day(params, "to")
    fields: dict[str, Any] = {"count": TASK_LIMIT}
    if params.get("status"):
        fields["status"] = params["status"]
    if params.get("priority"):
        fields["priority"] = params["priority"]
    if params.get("tags", "").strip():
        fields["tags"] = params["tags"]
    if since is not None:
        fields["created_after"] = _midnight(since) - timedelta(microseconds=1)
    before = _midnight(until + timedelta(days=1)) if until is not None else None
    return TaskFilter.model_validate(fields), before


def _counts_context(queue: QueueRead, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "counts": counts,
        "total": sum(counts.values()),
        "chart": donut(f"Tasks of {queue.name} by status", counts),
    }


@router.get("/queues/{guid}")
async def queue_page(page: PageDep, request: Request, guid: str, fragment: str = "") -> Response:
    queue = await page.call(queues.read_queue, guid)
    if fragment == "counts":
        counts = await page.call(queues.queue_counts, queue.guid)
        return page.render("queue_counts.html", queue=queue, **_counts_context(queue, counts))
    params = dict(request.query_params)
    filters, before = _task_filter(params)
    tasks = await page.call(reading.filter_list, queue.guid, filters, created_before=before)
    view = table_view(
        request,
        [_task_row(t) for t in tasks],
        _task_columns(),
        default_sort="created",
        default_descending=True,
        id="tasks",
    )
    if view.wants_csv:
        return view.csv_response(f"tasks-{queue.name}")
    counts = await page.call(queues.queue_counts, queue.guid)
    return page.render(
        "queue.html",
        queue=queue,
        view=view,
        params=params,
        limited=len(tasks) >= TASK_LIMIT,
        statuses=STATUSES,
        bulk_statuses=BULK_STATUSES,
        priorities=PRIORITIES,
        flags=SETTING_FLAGS,
        numbers=SETTING_NUMBERS,
        **_counts_context(queue, counts),
    )


@router.get("/queues/{guid}/events")
async def queue_events(page: PageDep, request: Request, guid: str) -> Response:
    queue = await page.call(queues.read_queue, guid)

    def probe() -> tuple[int, ...]:
        return tuple(queues.queue_counts(page.runtime, page.caller, queue.guid).values())

    return change_stream(request, probe)


@router.post("/queues/{guid}/tasks")
async def add_task(page: PageDep, guid: str) -> Response:
    form = await page.form()
    data = TaskCreate.model_validate(
        {
            "queue": guid,
            "name": str(form.get("name", "")),
            "priority": str(form.get("priority", "2")),
            "tags": str(form.get("tags", "")),
            "parameters": str(form.get("parameters", "")),
            "description": str(form.get("description", "")),
        }
    )
    task = await page.call(adding.create_task, data)
    return page.redirect(f"/queues/{guid}", message=f"Task {task.name} added.")


def _selected(form: FormData) -> list[str]:
    chosen = [str(v) for v in form.getlist("selected") if str(v).strip()]
    joined = str(form.get("tasks", ""))
    chosen += [part for part in joined.split(",") if part.strip()]
    return list(dict.fromkeys(chosen))


@router.post("/queues/{guid}/tasks/status")
async def change_statuses(page: PageDep, guid: str) -> Response:
    form = await page.form()
    chosen = _selected(form)
    status = str(form.get("status", ""))
    back = f"/queues/{guid}"
    if not chosen:
        return page.redirect(back, error="Select the tasks to change first.")
    label = dict(STATUSES).get(status)
    if label is None:
        return page.redirect(back, error="Choose the status to set.")
    if not confirmed(form):
        return page.confirm(
            f"Set {len(chosen)} task(s) to {label}?",
            {"status": status, "tasks": ",".join(chosen)},
        )
    changed, refused = await _set_statuses(page, chosen, int(status))
    message = f"{changed} task(s) set to {label}."
    if refused:
        return page.redirect(back, error=f"{message} Refused: " + "; ".join(refused))
    return page.redirect(back, message=message)


async def _set_statuses(page: Page, guids: list[str], status: int) -> tuple[int, list[str]]:
    changed, refused = 0, []
    for guid in guids:
        try:
            data = TaskUpdate.model_validate({"guid": guid, "status": status})
            await page.call(updating.update_task, data)
            changed += 1
        except RobofleetError as error:
            refused.append(error.message)
    return changed, refused


# --- One task ---------------------------------------------------------------------------------


@router.get("/tasks/{guid}")
async def task_page(page: PageDep, guid: str) -> Response:
    task = await page.call(reading.read_task, guid)
    history = await page.call(reading.task_history, task.guid)
    return page.render(
        "task.html",
        task=task,
        history=history,
        priorities=PRIORITIES,
        statuses=[s for s in STATUSES if s[0] != str(int(TaskStatus.IN_PROGRESS))],
        postponed=str(int(TaskStatus.POSTPONED)),
        priority_name=PRIORITY_NAMES.get(task.priority, str(task.priority)),
    )


@router.post("/tasks/{guid}")
async def update_task(page: PageDep, guid: str) -> Response:
    form = await page.form()
    data = TaskUpdate.model_validate(
        {
            "guid": guid,
            "name": str(form.get("name", "")) or None,
            "priority": str(form.get("priority", "")) or None,
            "tags": str(form.get("tags", "")),
            "description": str(form.get("description", "")),
            "comment": str(form.get("comment", "")),
            "parameters": str(form.get("parameters", "")),
        }
    )
    await page.call(updating.update_task, data)
    return page.redirect(f"/tasks/{guid}", message="Task saved.")


@router.post("/tasks/{guid}/status")
async def set_task_status(page: PageDep, guid: str) -> Response:
    form = await page.form()
    status = str(form.get("status", ""))
    label = dict(STATUSES).get(status)
    if label is None:
        return page.redirect(f"/tasks/{guid}", error="Choose the status to set.")
    if not confirmed(form):
        return page.confirm(f"Set this task to {label}?", form)
    fields: dict[str, Any] = {"guid": guid, "status": status}
    if str(form.get("postponed_until", "")).strip():
        fields["postponed_until"] = str(form["postponed_until"])
    await page.call(updating.update_task, TaskUpdate.model_validate(fields))
    return page.redirect(f"/tasks/{guid}", message=f"Task set to {label}.")


@router.post("/tasks/{guid}/clone")
async def clone_task(page: PageDep, guid: str) -> Response:
    """A new task like this one (Sherpa's "clone"): same queue, name, parameters, priority,
    tags and description; New, with a history of its own."""
    task = await page.call(reading.read_task, guid)
    data = TaskCreate.model_validate(
        {
            "queue": task.queue_guid,
            "name": task.name,
            "parameters": task.parameters,
            "priority": task.priority,
            "tags": task.tags,
            "description": task.description,
        }
    )
    clone = await page.call(adding.create_task, data)
    return page.redirect(f"/tasks/{clone.guid}", message=f"Task {task.name} cloned.")


@router.post("/tasks/{guid}/delete")
async def delete_task(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this task?", form)
    task = await page.call(reading.read_task, guid)
    await page.call(updating.delete_task, guid)
    return page.redirect(f"/queues/{task.queue_guid}", message="Task deleted.")
