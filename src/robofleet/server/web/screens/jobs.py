"""Jobs: the list with filters, starting a job, a job's page with its live status and log,
and stop, abort, clone and delete."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from markupsafe import Markup

from robofleet.contract import FINAL_JOB_STATUSES, JobStatus
from robofleet.server.schemas.jobs import JobCreate, JobFilter, JobRead
from robofleet.server.schemas.logs import LogFilter, LogRead, LogTail
from robofleet.server.services import logs
from robofleet.server.services.fleet import groups, robots
from robofleet.server.services.jobs import crud as jobs
from robofleet.server.services.processes import crud as processes
from robofleet.server.web.live import STREAM_HEADERS, change_stream, event
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.tables import Column, Row, table_view
from robofleet.server.web.templating import status_badge, when

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LIST_LIMIT: Final = 1000
"""The newest jobs the list reads per view (the filters narrow them on the server)."""
LOG_LIMIT: Final = 1000
"""The lines a job's page shows when it loads; the live log goes on after the last."""
TAIL_SECONDS: Final = 300.0
"""How long one log stream stays open; the browser reconnects and goes on after it."""
ENDED_TAIL_SECONDS: Final = 2.0
"""An ended job's stream: long enough for its last lines to settle (services.logs.tail)."""
PERIODS: Final = {
    "": ("Any time", None),
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
PRIORITIES: Final = (("1", "Low"), ("2", "Normal"), ("3", "High"))
STOPPABLE: Final = frozenset(
    {JobStatus.PENDING, JobStatus.IN_PROGRESS, JobStatus.UNKNOWN, JobStatus.STOPPING}
)
ENDED: Final = FINAL_JOB_STATUSES


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(href, text)


def _time(key: str) -> Callable[[Row], Markup | str]:
    return lambda row: when(row.get(key))


JOB_COLUMNS: Final = (
    Column("guid", "Job", render=lambda row: _link(f"/jobs/{row['guid']}", row["guid"][:8])),
    Column(
        "process",
        "Process",
        render=lambda row: _link(f"/processes/{row['process_guid']}", row["process"]),
    ),
    Column("robot", "Robot"),
    Column("task", "Task", numeric=True),
    Column("status", "Status", render=lambda row: status_badge(row["status"])),
    Column("source", "Source"),
    Column("priority", "Priority"),
    Column("created", "Created", render=_time("created")),
    Column("started", "Started", render=_time("started")),
    Column("completed", "Completed", render=_time("completed")),
    Column("updated", "Updated", render=_time("updated")),
    Column("message", "Last message"),
)


def _job_row(job: JobRead) -> Row:
    return {
        "guid": job.guid,
        "process": job.process_name,
        "process_guid": job.process_guid,
        "robot": job.robot_name or "",
        "task": job.task_id,
        "status": job.status_name,
        "source": job.source,
        "priority": dict(PRIORITIES).get(str(job.priority), str(job.priority)),
        "created": job.created_at,
        "started": job.started_at,
        "completed": job.completed_at,
        "updated": job.updated_at,
        "message": job.last_message[:200],
    }


def _filter(params: dict[str, str]) -> JobFilter:
    """The API's list filter from the page's query: status, process, robot and period."""
    period = PERIODS.get(params.get("period", ""), ("", None))[1]
    fields: dict[str, Any] = {
        "Status": params.get("status"),
        "Process": params.get("process"),
        "Robot": params.get("robot"),
        "Since": (datetime.now(UTC) - period).isoformat() if period else None,
    }
    return JobFilter.model_validate(
        {"Count": LIST_LIMIT, **{key: value for key, value in fields.items() if value}}
    )


@router.get("/jobs")
async def jobs_page(page: PageDep) -> Response:
    params = dict(page.request.query_params)
    found = await page.call(jobs.list_jobs, _filter(params))
    view = table_view(
        page.request,
        [_job_row(job) for job in found.items],
        JOB_COLUMNS,
        default_sort="created",
        default_descending=True,
        id="jobs",
    )
    if view.wants_csv:
        return view.csv_response("jobs")
    process_list = await page.call(processes.list_processes)
    robot_list = await page.call(robots.list_robots)
    return page.render(
        "jobs.html",
        view=view,
        total=found.total,
        limit=LIST_LIMIT,
        params=params,
        statuses=[("", "Any status")] + [(str(int(s)), s.label) for s in JobStatus],
        processes=[("", "Any process")] + [(p.guid, p.name) for p in process_list],
        robots=[("", "Any robot")] + [(r.guid, r.name) for r in robot_list],
        periods=[(key, label) for key, (label, _) in PERIODS.items()],
    )


@router.get("/jobs/new")
async def new_job_page(page: PageDep) -> Response:
    return await _new_job_form(page, dict(page.request.query_params))


async def _new_job_form(page: PageDep, values: dict[str, Any]) -> Response:
    process_list = await page.call(processes.list_processes)
    robot_list = await page.call(robots.list_robots)
    group_list = await page.call(groups.list_groups)
    return page.render(
        "job_new.html",
        values=values,
        processes=[("", "Choose a process")]
        + [(p.guid, p.name) for p in process_list if p.process_version_guid],
        robots=[("", "Any robot")] + [(r.guid, r.name) for r in robot_list],
        groups=[("", "No group")] + [(g.guid, g.name) for g in group_list],
        priorities=PRIORITIES,
    )


@router.post("/jobs/new")
async def create_job(page: PageDep) -> Response:
    form = await page.form()
    data = JobCreate.model_validate(
        {
            "Process": form.get("process") or "",
            "Robot": form.get("robot") or None,
            "RobotGroup": form.get("robot_group") or None,
            "Task": form.get("task") or None,
            "Priority": form.get("priority") or 2,
            "Parameters": form.get("parameters") or "{}",
            "Source": "GUI",
        }
    )
    created: JobRead = await page.call(jobs.create_job, data)
    return page.redirect(f"/jobs/{created.guid}", message="Job started.")


def _log_item(line: LogRead | dict[str, Any]) -> Markup:
    """One log line as an escaped <li>, the same on load and in the live stream."""
    if isinstance(line, LogRead):
        level, message, created = line.level, line.message, line.created_at
        when = created.strftime("%Y-%m-%d %H:%M:%S") if created else ""
        line_id = line.id
    else:
        level, message = str(line.get("level_name", "")), str(line.get("Message", ""))
        when, line_id = str(line.get("created_at") or ""), int(line.get("id", 0))
    return Markup(
        '<li id="line-{}" data-level="{}"><span class="when">{}</span> '
        '<span class="level">[{}]</span> <span class="message">{}</span></li>'
    ).format(line_id, level.lower(), when, level, message)


def _timeline(job: JobRead) -> list[tuple[str, Any, bool]]:
    ended = JobStatus(job.status) in ENDED
    finished = f"Finished ({job.status_name})" if ended else "Finished"
    return [
        ("Created", job.created_at, job.created_at is not None),
        ("Started", job.started_at, job.started_at is not None),
        (finished, job.completed_at, job.completed_at is not None),
    ]


def _job_context(job: JobRead) -> dict[str, Any]:
    status = JobStatus(job.status)
    return {
        "job": job,
        "timeline": _timeline(job),
        "can_stop": status in STOPPABLE and status != JobStatus.STOPPING,
        "can_abort": status in STOPPABLE,
        "can_delete": status in ENDED,
        "parameters": json.dumps(job.parameters, indent=2, ensure_ascii=False),
        "return_value": (
            None if job.return_value is None else json.dumps(job.return_value, indent=2)
        ),
        "priority": dict(PRIORITIES).get(str(job.priority), str(job.priority)),
    }


@router.get("/jobs/{guid}")
async def job_page(guid: str, page: PageDep, fragment: str = "") -> Response:
    job: JobRead = await page.call(jobs.read_job, guid)
    context = _job_context(job)
    if fragment:
        return page.render("_job_live.html", **context)
    lines: list[LogRead] = []
    if page.can("log"):
        found = await page.call(
            logs.list_logs, LogFilter(job=job.guid, after_id=0, count=LOG_LIMIT)
        )
        lines = found.lines
    last_id = lines[-1].id if lines else 0
    return page.render(
        "job.html",
        lines=[_log_item(line) for line in lines],
        last_id=last_id,
        **context,
    )


@router.get("/jobs/{guid}/events")
async def job_events(guid: str, page: PageDep) -> Response:
    """`change` whenever the job's status, progress or message changes."""
    job: JobRead = await page.call(jobs.read_job, guid)  # 404 before the stream opens

    def probe() -> Hashable:
        now = jobs.read_job(page.runtime, page.caller, job.guid)
        return (now.status, now.progress, now.last_message, now.updated_at, now.robot_guid)

    return change_stream(page.request, probe)


@router.get("/jobs/{guid}/log")
async def job_log(guid: str, page: PageDep, after: int = 0) -> Response:
    """The job's log lines as they are written: one `line` event per line, its data the
    line's escaped <li> (services.logs.tail; the event id is the line's, so a reconnecting
    browser goes on where it stopped). The stream of an ended job sends the lines left,
    then `end`, which closes it in the browser."""
    job: JobRead = await page.call(jobs.read_job, guid)
    ended = JobStatus(job.status) in ENDED
    last_event_id = page.request.headers.get("last-event-id", "")
    query = LogTail(
        job=job.guid, after_id=after, timeout=ENDED_TAIL_SECONDS if ended else TAIL_SECONDS
    )
    tail = await run_in_threadpool(logs.open_tail, page.runtime, page.caller, query, last_event_id)

    async def lines() -> AsyncIterator[str]:
        async for chunk in tail.events():
            if await page.request.is_disconnected():
                return
            yield _as_line_event(chunk)
        if ended:
            yield event("end", "")

    return StreamingResponse(lines(), media_type="text/event-stream", headers=STREAM_HEADERS)


def _as_line_event(chunk: str) -> str:
    """A tail's `log` event (its data the line's JSON) as a `line` event with the line's
    HTML; comments and the retry hint pass as they are."""
    fields: dict[str, str] = {}
    for raw in chunk.splitlines():
        name, _, value = raw.partition(": ")
        fields[name] = value
    if fields.get("event") != "log":
        return chunk
    item = _log_item(json.loads(fields["data"]))
    return f"id: {fields['id']}\n" + event("line", str(item))


async def _post(page: Page, question: str) -> Response | None:
    form = await page.form()
    return None if confirmed(form) else page.confirm(question, form)


@router.post("/jobs/{guid}/stop")
async def stop_job(guid: str, page: PageDep) -> Response:
    if (asking := await _post(page, "Ask this job to stop?")) is not None:
        return asking
    await page.call(jobs.stop_job, guid)
    return page.redirect(f"/jobs/{guid}", message="Stop requested.")


@router.post("/jobs/{guid}/abort")
async def abort_job(guid: str, page: PageDep) -> Response:
    if (asking := await _post(page, "Abort this job (kill it)?")) is not None:
        return asking
    await page.call(jobs.stop_job, guid, abort=True)
    return page.redirect(f"/jobs/{guid}", message="Abort requested.")


@router.post("/jobs/{guid}/clone")
async def clone_job(guid: str, page: PageDep) -> Response:
    if (asking := await _post(page, "Start a new job like this one?")) is not None:
        return asking
    clone: JobRead = await page.call(jobs.clone_job, guid)
    return page.redirect(f"/jobs/{clone.guid}", message="Job cloned.")


@router.post("/jobs/{guid}/delete")
async def delete_job(guid: str, page: PageDep) -> Response:
    if (asking := await _post(page, "Delete this job?")) is not None:
        return asking
    await page.call(jobs.delete_job, guid)
    return page.redirect("/jobs", message="Job deleted.")
