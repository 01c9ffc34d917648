"""Robot groups: the table, create, edit (members added and removed), delete."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Response
from markupsafe import Markup

from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.schemas.robots import (
    RobotGroupCreate,
    RobotGroupCreated,
    RobotGroupMembership,
    RobotGroupRead,
    RobotGroupUpdate,
)
from robofleet.server.services.fleet import groups as group_service
from robofleet.server.services.fleet import robots as robot_service
from robofleet.server.services.fleet.robots import RobotSummary
from robofleet.server.web.pages import PageDep, WebRoute, confirmed
from robofleet.server.web.screens.robots import (
    folder_names,
    folder_options,
    folders_for,
    form_text,
)
from robofleet.server.web.tables import Column, Row, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _name_link(row: Row) -> Markup:
    return Markup('<a href="/robot-groups/{}">{}</a>').format(row["guid"], row["name"])


GROUP_COLUMNS: Final = (
    Column("name", "Name", render=_name_link),
    Column("description", "Description"),
    Column("robots", "Robots", numeric=True),
    Column("folder", "Access folder"),
    Column("guid", "GUID", sortable=False),
)


@router.get("/robot-groups")
async def groups_page(page: PageDep) -> Response:
    groups: list[RobotGroupRead] = await page.call(group_service.list_groups)
    folders = await folders_for(page)
    by_id = {f.id: f.name for f in folders or ()}
    rows = [
        {
            "_id": f"group-{g.guid}",
            "guid": g.guid,
            "name": g.name,
            "description": g.description,
            "robots": len(g.robots),
            "folder": by_id.get(g.folder_id, str(g.folder_id)) if g.folder_id else "",
        }
        for g in groups
    ]
    view = table_view(page.request, rows, GROUP_COLUMNS, default_sort="name", id="groups")
    if view.wants_csv:
        return view.csv_response("robot-groups")
    return page.render("robot_groups.html", view=view)


@router.get("/robot-groups/new")
async def new_group_page(page: PageDep) -> Response:
    page.caller.require(Screen.ROBOT_GROUP, Action.CREATE)
    folders = await folders_for(page)
    return page.render(
        "robot_group_form.html",
        group=None,
        folders=folders,
        folder_options=folder_options(folders),
    )


@router.post("/robot-groups/new")
async def create_group(page: PageDep) -> Response:
    form = await page.form()
    data = RobotGroupCreate.model_validate(
        {
            "name": form_text(form, "name"),
            "description": form_text(form, "description"),
            "folder": form_text(form, "folder") or None,
        }
    )
    created: RobotGroupCreated = await page.call(group_service.create_group, data)
    return page.redirect(f"/robot-groups/{created.guid}", message="Robot group created.")


@router.get("/robot-groups/{guid}")
async def group_page(page: PageDep, guid: str) -> Response:
    group: RobotGroupRead = await page.call(group_service.read_group, guid)
    folders = await folders_for(page)
    robots: list[RobotSummary] = (
        await page.call(robot_service.robot_summaries) if page.can(Screen.ROBOT) else []
    )
    names = {robot.guid: robot.name for robot in robots}
    members = [(member, names.get(member, member)) for member in group.robots]
    folder_guid = next((f.guid for f in folders or () if f.id == group.folder_id), "")
    return page.render(
        "robot_group_form.html",
        group=group,
        members=members,
        candidates=[r for r in robots if r.guid not in group.robots],
        folders=folders,
        folder_options=folder_options(folders),
        folder_guid=folder_guid,
        folder_name=folder_names(folders).get(folder_guid, ""),
    )


@router.post("/robot-groups/{guid}")
async def update_group(page: PageDep, guid: str) -> Response:
    form = await page.form()
    fields: dict[str, Any] = {
        "guid": guid,
        "name": form_text(form, "name"),
        "description": form_text(form, "description"),
    }
    if "folder" in form:
        fields["folder"] = form_text(form, "folder") or None
    await page.call(group_service.update_group, RobotGroupUpdate.model_validate(fields))
    return page.redirect(f"/robot-groups/{guid}", message="Robot group saved.")


@router.post("/robot-groups/{guid}/add")
async def add_member(page: PageDep, guid: str) -> Response:
    form = await page.form()
    membership = RobotGroupMembership.model_validate(
        {"robot_group_guid": guid, "robot_guid": form_text(form, "robot")}
    )
    await page.call(group_service.add_robot, membership)
    return page.redirect(f"/robot-groups/{guid}", message="Robot added to the group.")


@router.post("/robot-groups/{guid}/remove")
async def remove_member(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Remove the robot from this group?", form)
    membership = RobotGroupMembership.model_validate(
        {"robot_group_guid": guid, "robot_guid": form_text(form, "robot")}
    )
    await page.call(group_service.remove_robot, membership)
    return page.redirect(f"/robot-groups/{guid}", message="Robot removed from the group.")


@router.post("/robot-groups/{guid}/delete")
async def delete_group(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this robot group? Its robots stay.", form)
    await page.call(group_service.delete_group, guid)
    return page.redirect("/robot-groups", message="Robot group deleted.")
