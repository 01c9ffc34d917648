"""Resources: credentials (the password masked, shown on request to those with the right and
audited), texts and calendars (a month editor, JSON import and export); resource groups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Response
from markupsafe import Markup

from robofleet.server.domain.errors import Forbidden
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.resources import (
    ResourceCreate,
    ResourceFilter,
    ResourceGroupCreate,
    ResourceGroupRead,
    ResourceGroupUpdate,
    ResourceRead,
    ResourceUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.fleet import groups as robot_groups
from robofleet.server.services.fleet import robots
from robofleet.server.services.resources import crud, groups
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.tables import Column, Row, every_page, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)

CREDENTIALS, TEXT, CALENDAR = crud.CREDENTIALS, crud.TEXT, crud.CALENDAR
TYPES: Final = [(str(k), v) for k, v in crud.TYPE_NAMES.items()]
SCOPES: Final = {3: "All robots", 2: "One robot group", 1: "One robot"}
NO_STORE: Final = {"Cache-Control": "no-store"}


# --- reads that gather every page of a list --------------------------------------------


def _all_resources(runtime: Runtime, caller: Caller, group: str | None) -> list[ResourceRead]:
    return every_page(
        lambda offset, count: (
            crud.list_resources(
                runtime,
                caller,
                ResourceFilter.model_validate(
                    {"offset": offset, "count": count, "resource_group": group or None}
                ),
            ).items
        )
    )


@dataclass(frozen=True)
class FleetNames:
    """Robots' and robot groups' names by GUID, for scopes shown by name and suggested in
    the form (empty for a user who may not read them: GUIDs are shown instead)."""

    robots: dict[str, str]
    robot_groups: dict[str, str]


def _fleet_names(runtime: Runtime, caller: Caller) -> FleetNames:
    try:
        found_robots = {r.guid: r.name for r in robots.list_robots(runtime, caller)}
    except Forbidden:
        found_robots = {}
    try:
        found_groups = {g.guid: g.name for g in robot_groups.list_groups(runtime, caller)}
    except Forbidden:
        found_groups = {}
    return FleetNames(found_robots, found_groups)


def masked(resource: ResourceRead) -> ResourceRead:
    """What a page may hold: never the password (read_resource gives it to editors)."""
    if resource.password is None:
        return resource
    return resource.model_copy(update={"password": crud.MASK})


# --- resources ---------------------------------------------------------------------------


def _link(row: Row) -> Markup:
    return Markup('<a href="/resources/{}">{}</a>').format(row["guid"], row["name"])


def _password_cell(row: Row) -> Markup | str:
    if not row["password"]:
        return "—"
    return Markup(
        '<span class="masked">{}</span> <span class="visually-hidden">(hidden)</span>'
    ).format(crud.MASK)


def expired(moment: datetime | None, now: datetime | None = None) -> bool:
    """A password past its expiration (a time without a zone is UTC)."""
    if moment is None:
        return False
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware <= (now or datetime.now(UTC))


def _expires_cell(row: Row) -> Markup | str:
    moment = row["expires"]
    if not isinstance(moment, datetime):
        return ""
    shown = moment.strftime("%Y-%m-%d %H:%M")
    if expired(moment):
        return Markup('<span class="badge badge-bad">expired</span> {}').format(shown)
    return shown


RESOURCE_COLUMNS: Final = (
    Column("name", "Name", render=_link),
    Column("type", "Type"),
    Column("value", "Login or value"),
    Column("password", "Password", render=_password_cell, export=False),
    Column("expires", "Password expires", render=_expires_cell),
    Column("scope", "Scope"),
    Column("group", "Group"),
    Column("updated_at", "Updated"),
)


def _value(resource: ResourceRead) -> str:
    if resource.type == CALENDAR:
        return "(calendar)"
    text = resource.text
    return text if len(text) <= 80 else text[:79] + "…"


def _scope(resource: ResourceRead, names: FleetNames) -> str:
    label = SCOPES.get(resource.robot_type, str(resource.robot_type))
    if resource.robot_guid:
        return f"{label}: {names.robots.get(resource.robot_guid, resource.robot_guid)}"
    if resource.robot_group_guid:
        group = resource.robot_group_guid
        return f"{label}: {names.robot_groups.get(group, group)}"
    return label


@router.get("/resources")
async def resource_list(page: PageDep, type: str = "", group: str = "") -> Response:
    found: list[ResourceRead] = await page.call(_all_resources, group)
    found_groups: list[ResourceGroupRead] = await page.call(groups.list_groups)
    names = {g.id: g.name for g in found_groups}
    group_name = next((g.name for g in found_groups if group in {g.guid, g.name}), group)
    fleet: FleetNames = await page.call(_fleet_names)
    rows = [
        {
            "guid": r.guid,
            "name": r.name,
            "type": r.type_name,
            "type_id": str(r.type),
            "value": _value(r),
            "password": r.password is not None,
            "expires": r.password_expiration,
            "scope": _scope(r, fleet),
            "group": names.get(r.resource_group_id, "") if r.resource_group_id else "",
            "updated_at": r.updated_at,
        }
        for r in found
        if not type or str(r.type) == type
    ]
    view = table_view(page.request, rows, RESOURCE_COLUMNS, default_sort="name", id="resources")
    if view.wants_csv:
        return view.csv_response("resources")
    return page.render(
        "resources/list.html",
        view=view,
        types=TYPES,
        type=type,
        group=group,
        group_name=group_name,
        tab="resources",
    )


def _group_options(found: list[ResourceGroupRead]) -> list[tuple[str, str]]:
    return [("", "(none)")] + [(g.guid, g.name) for g in sorted(found, key=lambda g: g.name)]


@router.get("/resources/new")
async def resource_new(page: PageDep, type: str = "1") -> Response:
    page.caller.require(Screen.RESOURCE, Action.CREATE)
    return page.render(
        "resources/form.html",
        resource=None,
        type=type if type in {"1", "2", "3"} else "1",
        types=TYPES,
        scopes=[(str(k), v) for k, v in SCOPES.items()],
        groups=_group_options(await page.call(groups.list_groups)),
        fleet=await page.call(_fleet_names),
    )


def _number(value: object, default: int) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 4 else default


def _resource_fields(form: Mapping[str, Any], kind: int) -> dict[str, Any]:
    """The API's request fields from the form (the schema validates them)."""
    fields: dict[str, Any] = {
        "name": form.get("name", ""),
        "description": form.get("description", ""),
        "resource_group": form.get("resource_group") or None,
    }
    if kind != CALENDAR:
        fields["text"] = form.get("text", "")
    if kind == CREDENTIALS:
        if form.get("password"):
            fields["password"] = form.get("password")
        if form.get("password_expiration"):
            fields["password_expiration"] = form.get("password_expiration")
    robot_type = _number(form.get("robot_type"), 3)
    fields["robot_type"] = robot_type
    if robot_type == 1:
        fields["robot"] = form.get("robot") or None
    elif robot_type == 2:
        fields["robot_group"] = form.get("robot_group") or None
    return fields


@router.post("/resources/new")
async def resource_create(page: PageDep) -> Response:
    form = await page.form()
    kind = _number(form.get("type"), TEXT)
    data = ResourceCreate.model_validate({**_resource_fields(form, kind), "type": kind})
    made = await page.call(crud.create_resource, data)
    return page.redirect(f"/resources/{made.guid}", message=f"Resource {data.name} created.")


async def _detail(page: Page, guid: str, revealed: str | None = None) -> Response:
    resource = masked(await page.call(crud.read_resource, guid))
    found = await page.call(groups.list_groups)
    group = next((g for g in found if g.id == resource.resource_group_id), None)
    fleet: FleetNames = await page.call(_fleet_names)
    return page.render(
        "resources/detail.html",
        resource=resource,
        group=group,
        fleet=fleet,
        scope=_scope(resource, fleet),
        revealed=revealed,
        expired=expired(resource.password_expiration),
        may_reveal=page.can(Screen.RESOURCE, Action.UPDATE),
        scopes=[(str(k), v) for k, v in SCOPES.items()],
        groups=_group_options(found),
    )


# --- resource groups (before /resources/{guid}: "groups" is not a resource) -----------


def _group_link(row: Row) -> Markup:
    return Markup('<a href="/resources/groups/{}">{}</a>').format(row["guid"], row["name"])


def _group_resources(row: Row) -> Markup:
    return Markup('<a href="/resources?group={}">Resources in {}</a>').format(
        row["guid"], row["name"]
    )


GROUP_COLUMNS: Final = (
    Column("name", "Name", render=_group_link),
    Column("description", "Description"),
    Column("created_at", "Created"),
    Column("updated_at", "Updated"),
    Column("resources", "Resources", sortable=False, render=_group_resources, export=False),
)


@router.get("/resources/groups")
async def group_list(page: PageDep) -> Response:
    found: list[ResourceGroupRead] = await page.call(groups.list_groups)
    rows = [
        {
            "guid": g.guid,
            "name": g.name,
            "description": g.description,
            "created_at": g.created_at,
            "updated_at": g.updated_at,
            "resources": "",
        }
        for g in found
    ]
    view = table_view(page.request, rows, GROUP_COLUMNS, default_sort="name", id="groups")
    if view.wants_csv:
        return view.csv_response("resource-groups")
    return page.render("resources/groups.html", view=view, tab="groups")


@router.post("/resources/groups")
async def group_create(page: PageDep) -> Response:
    form = await page.form()
    data = ResourceGroupCreate.model_validate(
        {"name": form.get("name", ""), "description": form.get("description", "")}
    )
    await page.call(groups.create_group, data)
    return page.redirect("/resources/groups", message=f"Resource group {data.name} created.")


@router.get("/resources/groups/{guid}")
async def group_detail(page: PageDep, guid: str) -> Response:
    group = await page.call(groups.read_group, guid)
    return page.render("resources/group.html", group=group, tab="groups")


@router.post("/resources/groups/{guid}/edit")
async def group_update(page: PageDep, guid: str) -> Response:
    form = await page.form()
    data = ResourceGroupUpdate.model_validate(
        {"guid": guid, "name": form.get("name", ""), "description": form.get("description", "")}
    )
    await page.call(groups.update_group, data)
    return page.redirect(f"/resources/groups/{guid}", message="Resource group saved.")


@router.post("/resources/groups/{guid}/delete")
async def group_delete(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this resource group?", form)
    await page.call(groups.delete_group, guid)
    return page.redirect("/resources/groups", message="Resource group deleted.")


# --- one resource ------------------------------------------------------------------------


@router.get("/resources/{guid}")
async def resource_detail(page: PageDep, guid: str) -> Response:
    return await _detail(page, guid)


@router.post("/resources/{guid}/password")
async def resource_reveal(page: PageDep, guid: str) -> Response:
    """The password on this response only (never cached): the reveal is audited."""
    password = await page.call(crud.reveal_password, guid)
    response = await _detail(page, guid, revealed=password if password is not None else "")
    response.headers.update(NO_STORE)
    return response


@router.post("/resources/{guid}/edit")
async def resource_update(page: PageDep, guid: str) -> Response:
    form = await page.form()
    kind = _number(form.get("type"), TEXT)
    data = ResourceUpdate.model_validate({**_resource_fields(form, kind), "guid": guid})
    await page.call(crud.update_resource, data)
    return page.redirect(f"/resources/{guid}", message="Resource saved.")


@router.post("/resources/{guid}/delete")
async def resource_delete(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this resource?", form)
    await page.call(crud.delete_resource, guid)
    return page.redirect("/resources", message="Resource deleted.")
