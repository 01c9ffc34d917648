"""Roles: create/read/update/delete rights per screen, and the access folders they reach."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from robofleet.server.domain.permissions import ACTION_LETTERS, Action, Screen
from robofleet.server.schemas.identity import FolderRead, RoleCreate, RoleUpdate
from robofleet.server.services.access.folders import list_folders
from robofleet.server.services.access.roles import (
    create_role,
    delete_role,
    list_roles,
    read_role,
    update_role,
)
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.screens.admin_forms import flag, text
from robofleet.server.web.tables import Column, Row, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)

SCREEN_LABELS: Final[dict[str, str]] = {
    Screen.API_KEY: "API key",
    Screen.ROBOT: "Robots",
    Screen.ROBOT_GROUP: "Robot groups",
    Screen.PROCESS: "Processes",
    Screen.PROCESS_VERSION: "Process versions",
    Screen.JOB: "Jobs",
    Screen.QUEUE: "Queues",
    Screen.TASK: "Tasks",
    Screen.TRIGGER: "Triggers",
    Screen.RESOURCE: "Resources",
    Screen.STORAGE: "Storage",
    Screen.LOG: "Logs",
    Screen.ACCOUNT: "Accounts",
    Screen.USER: "Users",
    Screen.ROLE: "Roles",
    Screen.ACCESS_FOLDER: "Access folders",
    Screen.AUDIT: "Audit",
}
ACTIONS: Final = (
    ("c", Action.CREATE, "Create"),
    ("r", Action.READ, "Read"),
    ("u", Action.UPDATE, "Update"),
    ("d", Action.DELETE, "Delete"),
)


def _name(row: Row) -> Markup:
    return Markup('<a href="/roles/{}">{}</a>').format(row["guid"], row["name"])


COLUMNS: Final = (
    Column("name", "Name", render=_name),
    Column("description", "Description"),
    Column("rights", "Rights"),
    Column("folders", "Access folders"),
    Column("guid", "GUID"),
)


def rights_summary(permissions: dict[str, str], administrator: bool) -> str:
    if administrator:
        return "every right"
    parts = [
        f"{SCREEN_LABELS.get(screen, screen)}: {letters}"
        for screen, letters in sorted(permissions.items())
        if letters
    ]
    return "; ".join(parts) or "none"


@router.get("/roles")
async def roles_page(page: PageDep) -> Response:
    roles = await page.call(list_roles)
    rows = [
        {
            "guid": role.guid,
            "name": role.name,
            "description": role.description,
            "rights": rights_summary(role.permissions, role.is_administrator),
            "folders": "all" if role.all_folders else ", ".join(role.folders) or "root only",
        }
        for role in roles
    ]
    view = table_view(page.request, rows, COLUMNS, default_sort="name")
    if view.wants_csv:
        return view.csv_response("roles")
    return page.render(
        "admin_list.html",
        title="Roles",
        intro="A role grants create, read, update and delete on each screen, in the access "
        "folders it names.",
        view=view,
        new_url="/roles/new" if page.can(Screen.ROLE, Action.CREATE) else "",
        new_label="New role",
    )


async def _folders(page: Page) -> list[FolderRead] | None:
    if not page.can(Screen.ACCESS_FOLDER, Action.READ):
        return None
    folders: list[FolderRead] = await page.call(list_folders)
    return folders


def _grid(permissions: dict[str, str]) -> list[dict[str, Any]]:
    """One row per screen: its label and the four rights, ticked or not."""
    return [
        {
            "screen": screen,
            "label": label,
            "rights": [
                (letter, name, letter in permissions.get(screen, "")) for letter, _, name in ACTIONS
            ],
        }
        for screen, label in SCREEN_LABELS.items()
    ]


@router.get("/roles/new")
async def new_role(page: PageDep) -> Response:
    return page.render("role_form.html", role=None, grid=_grid({}), folders=await _folders(page))


def _fields(form: FormData) -> dict[str, Any]:
    permissions: dict[str, str] = {}
    for value in form.getlist("perm"):
        screen, _, letter = str(value).partition(":")
        if letter in ACTION_LETTERS:
            permissions[screen] = permissions.get(screen, "") + letter
    folders: list[str] | str = [str(v) for v in form.getlist("folders") if str(v).strip()]
    if "folders_text" in form:
        folders = text(form, "folders_text")
    return {
        "name": text(form, "name"),
        "description": text(form, "description"),
        "permissions": permissions,
        "all_folders": flag(form, "all_folders"),
        "folders": folders,
    }


@router.post("/roles/new")
async def add_role(page: PageDep) -> Response:
    data = RoleCreate.model_validate(_fields(await page.form()))
    await page.call(create_role, data)
    return page.redirect("/roles", message=f"Role '{data.name}' created.")


@router.get("/roles/{guid}")
async def role_page(page: PageDep, guid: str) -> Response:
    role = await page.call(read_role, guid)
    return page.render(
        "role_form.html", role=role, grid=_grid(role.permissions), folders=await _folders(page)
    )


@router.post("/roles/{guid}")
async def change_role(page: PageDep, guid: str) -> Response:
    form = await page.form()
    fields = {"guid": guid, **_fields(form)}
    if form.get("administrator") == "yes":  # its rights and folders are fixed: name only
        fields = {key: fields[key] for key in ("guid", "name", "description")}
    data = RoleUpdate.model_validate(fields)
    await page.call(update_role, data)
    return page.redirect("/roles", message=f"Role '{data.name}' saved.")


@router.post("/roles/{guid}/delete")
async def remove_role(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this role?", form)
    await page.call(delete_role, guid)
    return page.redirect("/roles", message="Role deleted.")
