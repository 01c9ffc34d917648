"""Logs (robot messages): filters, a table with paging and CSV, a live tail, screenshots."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse
from markupsafe import Markup

from robofleet.contract import LEVELS_BY_SEVERITY
from robofleet.server.schemas.logs import LogFilter, LogTail
from robofleet.server.services.logs.reading import list_logs_named, read_screenshot
from robofleet.server.services.logs.tail import open_tail
from robofleet.server.web.live import STREAM_HEADERS, event
from robofleet.server.web.pages import PageDep, WebRoute
from robofleet.server.web.screens.admin_forms import PERIODS, non_empty, period_start
from robofleet.server.web.tables import Column, Row, table_view
from robofleet.server.web.templating import status_badge

router = APIRouter(route_class=WebRoute, include_in_schema=False)

NEWEST: Final = 1000
"""Lines the table holds (the newest that match; narrow the filters to see older ones)."""
TAIL_SECONDS: Final = 300.0
"""A live tail's stream stays open this long; the browser reconnects and goes on."""
LEVELS: Final = [
    ("", "Any level"),
    *((level.value, f"{level.value} or worse") for level in LEVELS_BY_SEVERITY),
]
FILTERS: Final = ("job", "robot", "level", "period", "live")


def _screenshot(row: Row) -> Markup | str:
    if not row["screenshot"]:
        return ""
    url = f"/logs/{row['guid']}/screenshot"
    return Markup(
        '<a href="{}" target="_blank" rel="noopener" class="shot">'
        '<img src="{}" alt="Screenshot of line {} (opens full size)" width="64" loading="lazy">'
        "</a>"
    ).format(url, url, row["id"])


def _only(key: str, title: str) -> Any:
    """A robot (by name when known) or job as a link to the lines of it alone."""

    def cell(row: Row) -> Markup | str:
        ref = row[f"{key}_id"]
        if ref is None:
            return ""
        shown = row.get(key) or ref
        return Markup('<a href="/logs?{}={}" title="{}">{}</a>').format(key, ref, title, shown)

    return cell


COLUMNS: Final = (
    Column("created_at", "Time"),
    Column("level", "Level", render=lambda row: status_badge(row["level"])),
    Column("message", "Message"),
    Column("robot", "Robot", render=_only("robot", "Only this robot's lines")),
    Column("job_id", "Job", numeric=True, render=_only("job", "Only this job's lines")),
    Column("process_version_id", "Process version", numeric=True),
    Column("fields", "Fields", sortable=False),
    Column("screenshot", "Screenshot", sortable=False, render=_screenshot, export=False),
)


def _filters(params: dict[str, str]) -> dict[str, str]:
    return {name: params.get(name, "").strip() for name in FILTERS}


@router.get("/logs")
async def logs_page(page: PageDep) -> Response:
    params = dict(page.request.query_params)
    chosen = _filters(params)
    search = params.get("q", "").strip()
    query = LogFilter.model_validate(
        {
            **non_empty(
                {
                    "job": chosen["job"],
                    "robot": chosen["robot"],
                    "min_level": chosen["level"],
                    "search": search,
                }
            ),
            "since": period_start(chosen["period"], datetime.now(UTC)),
            "count": NEWEST,
        }
    )
    named = await page.call(list_logs_named, query)
    found = named.page
    rows = [
        {
            "id": line.id,
            "guid": line.guid,
            "created_at": line.created_at,
            "level": line.level,
            "message": line.message,
            "robot_id": line.robot_id,
            "robot": named.robot_names.get(line.robot_id, line.robot_id)
            if line.robot_id is not None
            else None,
            "job_id": line.job_id,
            "process_version_id": line.process_version_id,
            "fields": json.dumps(line.fields, ensure_ascii=False) if line.fields else "",
            "screenshot": bool(line.screenshot_type),
        }
        for line in found.lines
    ]
    view = table_view(
        page.request, rows, COLUMNS, default_sort="created_at", default_descending=True
    )
    if view.wants_csv:
        return view.csv_response("logs")
    live = chosen["live"] == "1"
    stream = view.url(live=None, q=search or None, sort=None, dir=None, page=None, size=None)
    # The tail starts after the newest line shown: none written meanwhile is missed.
    newest_id = max((line.id for line in found.lines), default=None)
    stream = "/logs/stream" + stream[len("/logs") :]
    if newest_id is not None:
        stream += ("&" if "?" in stream else "?") + f"after={newest_id}"
    return page.render(
        "logs.html",
        view=view,
        chosen=chosen,
        levels=LEVELS,
        periods=PERIODS,
        live=live,
        stream_url=stream,
        follow_url=view.url(live=1, page=None),
        stop_url=view.url(live=None),
        capped=len(rows) == NEWEST,
        newest=NEWEST,
    )


@router.get("/logs/stream")
async def logs_stream(
    page: PageDep, last_event_id: Annotated[str, Header(pattern="^[0-9]{0,18}$")] = ""
) -> StreamingResponse:
    """The live tail: one `line` event per new line, its data the line as an <li>."""
    params = dict(page.request.query_params)
    chosen = _filters(params)
    query = LogTail.model_validate(
        {
            **non_empty(
                {
                    "job": chosen["job"],
                    "robot": chosen["robot"],
                    "min_level": chosen["level"],
                    "search": params.get("q", "").strip(),
                }
            ),
            "after_id": params.get("after") or None,
            "timeout": TAIL_SECONDS,
        }
    )
    tail = await page.call(open_tail, query, last_event_id)

    async def lines() -> AsyncIterator[str]:
        async for chunk in tail.events():
            if "\nevent: log\n" not in f"\n{chunk}":
                yield chunk  # retry and keep-alive lines as they are
                continue
            fields = dict(
                part.split(": ", 1) for part in chunk.strip().splitlines() if ": " in part
            )
            yield f"id: {fields.get('id', '')}\n" + event("line", _line_html(fields["data"]))

    return StreamingResponse(lines(), media_type="text/event-stream", headers=STREAM_HEADERS)


def _line_html(data: str) -> str:
    line: dict[str, Any] = json.loads(data)
    html = Markup(
        '<li data-line-id="{}"><time datetime="{}">{}</time> '
        '<span class="level">[{}]</span> <span class="message">{}</span></li>'
    ).format(
        line.get("id", ""),
        line.get("created_at", ""),
        line.get("created_at", ""),
        line.get("level_name", ""),
        line.get("Message", ""),
    )
    return str(html)


@router.get("/logs/{guid}/screenshot")
async def screenshot(page: PageDep, guid: str) -> StreamingResponse:
    chunks, media_type, size = await page.call(read_screenshot, guid)
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(chunks, media_type=media_type, headers=headers)
