"""Access folders: named buckets that narrow which objects a role reaches."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Response
from markupsafe import Markup

from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.schemas.identity import FolderCreate, FolderUpdate
from robofleet.server.services.access.folders import (
    create_folder,
    delete_folder,
    list_folders,
    read_folder,
    update_folder,
)
from robofleet.server.web.pages import PageDep, WebRoute, confirmed
from robofleet.server.web.screens.admin_forms import text
from robofleet.server.web.tables import Column, Row, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _name(row: Row) -> Markup:
    return Markup('<a href="/folders/{}">{}</a>').format(row["guid"], row["name"])


COLUMNS: Final = (
    Column("name", "Name", render=_name),
    Column("description", "Description"),
    Column("guid", "GUID"),
    Column("created_at", "Created"),
    Column("updated_at", "Updated"),
)


@router.get("/folders")
async def folders_page(page: PageDep) -> Response:
    folders = await page.call(list_folders)
    rows = [folder.model_dump() for folder in folders]
    view = table_view(page.request, rows, COLUMNS, default_sort="name")
    if view.wants_csv:
        return view.csv_response("access-folders")
    return page.render(
        "admin_list.html",
        title="Access folders",
        intro="Roles reach the objects in the folders they name; objects in no folder are "
        "seen by every role with the screen's right.",
        view=view,
        new_url="/folders/new" if page.can(Screen.ACCESS_FOLDER, Action.CREATE) else "",
        new_label="New access folder",
    )


@router.get("/folders/new")
def new_folder(page: PageDep) -> Response:
    return page.render("folder_form.html", folder=None)


@router.post("/folders/new")
async def add_folder(page: PageDep) -> Response:
    form = await page.form()
    data = FolderCreate.model_validate(
        {"name": text(form, "name"), "description": text(form, "description")}
    )
    await page.call(create_folder, data)
    return page.redirect("/folders", message=f"Access folder '{data.name}' created.")


@router.get("/folders/{guid}")
async def folder_page(page: PageDep, guid: str) -> Response:
    folder = await page.call(read_folder, guid)
    return page.render("folder_form.html", folder=folder)


@router.post("/folders/{guid}")
async def change_folder(page: PageDep, guid: str) -> Response:
    form = await page.form()
    data = FolderUpdate.model_validate(
        {"guid": guid, "name": text(form, "name"), "description": text(form, "description")}
    )
    await page.call(update_folder, data)
    return page.redirect("/folders", message=f"Access folder '{data.name}' saved.")


@router.post("/folders/{guid}/delete")
async def remove_folder(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this access folder?", form)
    await page.call(delete_folder, guid)
    return page.redirect("/folders", message="Access folder deleted.")
