"""Overview: the fleet at a glance. Robots by status (live), jobs today and over a week,
each queue's backlog and throughput, and the latest failures."""

from __future__ import annotations

from collections.abc import Hashable

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from robofleet.contract import TaskStatus
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.services.fleet.robots import robots_by_status
from robofleet.server.services.jobs.overview import Overview, QueueLoad, fleet_overview
from robofleet.server.web.charts import donut, stacked_bars
from robofleet.server.web.live import change_stream
from robofleet.server.web.pages import PageDep, WebRoute
from robofleet.server.web.tables import Column, Row, TableView, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)

QUEUES_CHARTED = 10
"""The queues with the biggest backlog in the charts (the table lists them all)."""


def _queue_link(row: Row) -> Markup:
    return Markup('<a href="/queues/{}">{}</a>').format(row["guid"], row["name"])


QUEUE_COLUMNS = (
    Column("name", "Queue", render=_queue_link),
    Column("new", "New", numeric=True),
    Column("in_progress", "In Progress", numeric=True),
    Column("done_24h", "Done (24 h)", numeric=True),
)


@router.get("/")
async def overview(page: PageDep, fragment: str = "") -> Response:
    if fragment == "robots":
        counts = await page.call(robots_by_status)
        return page.render("_overview_robots.html", robots=counts, robots_chart=_robots(counts))
    data: Overview = await page.call(fleet_overview)
    queues = _queue_view(page.request, data)
    if queues is not None and queues.wants_csv:
        return queues.csv_response("queue-load")
    return page.render(
        "overview.html",
        overview=data,
        robots=data.robots,
        robots_chart=_robots(data.robots) if data.robots is not None else None,
        week_chart=_week(data),
        queues=queues,
        backlog_chart=_backlog(data),
        throughput_chart=_throughput(data),
    )


@router.get("/overview/events")
def overview_events(page: PageDep) -> Response:
    """A `change` each time the robots' status counts change."""
    page.caller.require(Screen.ROBOT, Action.READ)

    def probe() -> Hashable:
        return tuple(robots_by_status(page.runtime, page.caller).items())

    return change_stream(page.request, probe)


def _robots(counts: dict[str, int]) -> Markup:
    return donut("Robots by status", counts)


def _week(data: Overview) -> Markup | None:
    if data.jobs_by_day is None:
        return None
    days = [day[5:] for day in data.days]  # MM-DD
    return stacked_bars("Jobs created per day, last 7 days, by status", days, data.jobs_by_day)


def _queue_view(request: Request, data: Overview) -> TableView | None:
    if data.queues is None:
        return None
    rows = [
        {
            "guid": q.guid,
            "name": q.name,
            "new": q.new,
            "in_progress": q.in_progress,
            "done_24h": q.done_24h,
        }
        for q in data.queues
    ]
    return table_view(request, rows, QUEUE_COLUMNS, default_sort="name", id="queues")


def _busiest(data: Overview) -> list[QueueLoad]:
    queues = data.queues or []
    ranked = sorted(queues, key=lambda q: (-(q.new + q.in_progress), -q.done_24h, q.name))
    return ranked[:QUEUES_CHARTED]


def _backlog(data: Overview) -> Markup | None:
    charted = _busiest(data)
    if not charted:
        return None
    return stacked_bars(
        "Queue backlog: tasks New and In Progress",
        [q.name for q in charted],
        {
            TaskStatus.NEW.label: [q.new for q in charted],
            TaskStatus.IN_PROGRESS.label: [q.in_progress for q in charted],
        },
    )


def _throughput(data: Overview) -> Markup | None:
    charted = _busiest(data)
    if not charted:
        return None
    return stacked_bars(
        "Queue throughput: tasks done in the last 24 hours",
        [q.name for q in charted],
        {"Done": [q.done_24h for q in charted]},
    )
