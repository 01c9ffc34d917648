"""Robots: the table (status and last contact live), create attended or unattended, edit,
group membership, a new secret, delete."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from robofleet.contract import RobotStatus
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.schemas.identity import FolderRead
from robofleet.server.schemas.robots import (
    RobotCreate,
    RobotCreated,
    RobotGroupMembership,
    RobotGroupRead,
    RobotRead,
    RobotSecret,
    RobotSecretIssue,
    RobotUpdate,
)
from robofleet.server.services.access.folders import list_folders
from robofleet.server.services.fleet import groups as group_service
from robofleet.server.services.fleet import robots as robot_service
from robofleet.server.services.fleet.robots import RobotSummary
from robofleet.server.web.live import change_stream
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.tables import Column, Row, table_view
from robofleet.server.web.templating import status_badge, when

router = APIRouter(route_class=WebRoute, include_in_schema=False)

ROBOT_TYPES: Final = (("Unattended", "Unattended"), ("Attended", "Attended"))
STATUS_LABELS: Final = tuple(status.label for status in RobotStatus)
NO_STORE: Final = {"Cache-Control": "no-store"}


def _name_link(row: Row) -> Markup:
    return Markup('<a href="/robots/{}">{}</a>').format(row["guid"], row["name"])


def _active(row: Row) -> str:
    return "Active" if row["active"] else "Inactive"


ROBOT_COLUMNS: Final = (
    Column("active", "Active", render=_active),
    Column("name", "Name", render=_name_link),
    Column("status", "Status", render=lambda row: status_badge(row["status"])),
    Column("type", "Type"),
    Column("description", "Description"),
    Column("last_contact", "Last contact", render=lambda row: when(row["last_contact"])),
    Column("folder", "Access folder"),
    Column("groups", "Groups"),
    Column("guid", "GUID", sortable=False),
)


# --- Reads shared by the pages --------------------------------------------------------------


async def folders_for(page: Page) -> list[FolderRead] | None:
    """The access folders for a select, or None when the user may not read them."""
    if not page.can(Screen.ACCESS_FOLDER):
        return None
    folders: list[FolderRead] = await page.call(list_folders)
    return folders


async def _groups(page: Page) -> list[RobotGroupRead] | None:
    if not page.can(Screen.ROBOT_GROUP):
        return None
    groups: list[RobotGroupRead] = await page.call(group_service.list_groups)
    return groups


def folder_options(folders: Sequence[FolderRead] | None) -> list[tuple[str, str]]:
    return [("", "(root: no folder)")] + [(f.guid, f.name) for f in folders or ()]


def folder_names(folders: Sequence[FolderRead] | None) -> dict[str, str]:
    return {f.guid: f.name for f in folders or ()}


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --- The table --------------------------------------------------------------------------------


def robot_rows(robots: Sequence[RobotSummary], folders: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"robot-{robot.guid}",
            "guid": robot.guid,
            "active": robot.active,
            "name": robot.name,
            "status": RobotStatus(robot.status).label,
            "type": robot.type,
            "description": robot.description,
            "last_contact": robot.last_heartbeat_at,
            "folder": folders.get(robot.folder_guid, robot.folder_guid)
            if robot.folder_guid
            else "",
            "groups": "; ".join(robot.groups),
        }
        for robot in robots
    ]


def _filtered(rows: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    status = request.query_params.get("status", "")
    group = request.query_params.get("group", "")
    active = request.query_params.get("active", "")
    if status:
        rows = [row for row in rows if row["status"] == status]
    if group:
        rows = [row for row in rows if group in row["groups"].split("; ")]
    if active in {"yes", "no"}:
        rows = [row for row in rows if row["active"] == (active == "yes")]
    return rows


@router.get("/robots")
async def robots_page(page: PageDep, fragment: str = "") -> Response:
    robots: list[RobotSummary] = await page.call(robot_service.robot_summaries)
    folders = await folders_for(page)
    names = folder_names(folders)
    rows = _filtered(robot_rows(robots, names), page.request)
    view = table_view(page.request, rows, ROBOT_COLUMNS, default_sort="name", id="robots")
    if view.wants_csv:
        return view.csv_response("robots")
    if fragment:
        return page.render("_robots_rows.html", view=view)
    group_names = sorted({name for robot in robots for name in robot.groups})
    return page.render(
        "robots.html",
        view=view,
        statuses=STATUS_LABELS,
        group_names=group_names,
        params=page.request.query_params,
    )


@router.get("/robots/events")
def robots_events(page: PageDep) -> Response:
    """A `change` each time a robot's status, last contact or fields change."""
    page.caller.require(Screen.ROBOT, Action.READ)
    return change_stream(page.request, lambda: _pulse(page))


def _pulse(page: Page) -> Hashable:
    return robot_service.robot_pulse(page.runtime, page.caller)


# --- Create -----------------------------------------------------------------------------------


@router.get("/robots/new")
async def new_robot_page(page: PageDep) -> Response:
    page.caller.require(Screen.ROBOT, Action.CREATE)
    folders = await folders_for(page)
    return page.render(
        "robot_new.html",
        types=ROBOT_TYPES,
        folders=folders,
        folder_options=folder_options(folders),
        group_options=[(g.guid, g.name) for g in await _groups(page) or ()],
    )


@router.post("/robots/new")
async def create_robot(page: PageDep) -> Response:
    form = await page.form()
    data = RobotCreate.model_validate(
        {
            "name": form_text(form, "name"),
            "description": form_text(form, "description"),
            "type": form_text(form, "type") or "Unattended",
            "active": form_text(form, "active") or "off",
            "machine": form_text(form, "machine"),
            "folder": form_text(form, "folder") or None,
            "groups": [g for g in form.getlist("groups") if isinstance(g, str) and g],
        }
    )
    created: RobotCreated = await page.call(robot_service.create_robot, data)
    response = page.render(
        "robot_secret.html",
        name=created.name,
        guid=created.guid,
        secret=created.secret,
        created=True,
    )
    response.headers.update(NO_STORE)
    return response


# --- Read, edit, delete ------------------------------------------------------------------------


@router.get("/robots/{guid}")
async def robot_page(page: PageDep, guid: str) -> Response:
    robot: RobotRead = await page.call(robot_service.read_robot, guid)
    folders = await folders_for(page)
    groups = await _groups(page)
    member_of = [g for g in groups or () if robot.guid in g.robots]
    others = [g for g in groups or () if robot.guid not in g.robots]
    return page.render(
        "robot_edit.html",
        robot=robot,
        status=RobotStatus(robot.status).label,
        types=ROBOT_TYPES,
        folders=folders,
        folder_options=folder_options(folders),
        folder_name=folder_names(folders).get(robot.folder_guid or "", robot.folder_guid or ""),
        groups=groups,
        member_of=member_of,
        others=others,
    )


@router.post("/robots/{guid}")
async def update_robot(page: PageDep, guid: str) -> Response:
    form = await page.form()
    fields: dict[str, Any] = {
        "guid": guid,
        "name": form_text(form, "name"),
        "description": form_text(form, "description"),
        "type": form_text(form, "type") or None,
        "active": form_text(form, "active") or "off",
        "machine": form_text(form, "machine"),
    }
    if "folder" in form:  # only when the user could see (and so choose) the folder
        fields["folder"] = form_text(form, "folder") or None
    await page.call(robot_service.update_robot, RobotUpdate.model_validate(fields))
    return page.redirect(f"/robots/{guid}", message="Robot saved.")


@router.post("/robots/{guid}/groups/add")
async def join_group(page: PageDep, guid: str) -> Response:
    form = await page.form()
    membership = RobotGroupMembership.model_validate(
        {"robot_group_guid": form_text(form, "group"), "robot_guid": guid}
    )
    await page.call(group_service.add_robot, membership)
    return page.redirect(f"/robots/{guid}", message="Added to the group.")


@router.post("/robots/{guid}/groups/remove")
async def leave_group(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Remove the robot from this group?", form)
    membership = RobotGroupMembership.model_validate(
        {"robot_group_guid": form_text(form, "group"), "robot_guid": guid}
    )
    await page.call(group_service.remove_robot, membership)
    return page.redirect(f"/robots/{guid}", message="Removed from the group.")


@router.post("/robots/{guid}/secret")
async def new_secret(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm(
            "Issue a new secret? The robot's current secret stops working at once.", form
        )
    issued: RobotSecret = await page.call(
        robot_service.issue_secret, RobotSecretIssue.model_validate({"guid": guid})
    )
    robot: RobotRead = await page.call(robot_service.read_robot, guid)
    response = page.render(
        "robot_secret.html", name=robot.name, guid=issued.guid, secret=issued.secret, created=False
    )
    response.headers.update(NO_STORE)
    return response


@router.post("/robots/{guid}/delete")
async def delete_robot(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this robot? It can no longer call in.", form)
    await page.call(robot_service.delete_robot, guid)
    return page.redirect("/robots", message="Robot deleted.")
