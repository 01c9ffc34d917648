"""Processes and their versions: the processes table, a process's page with its versions
(the current one highlighted), uploads with progress, "Make current", downloads and deletes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from markupsafe import Markup
from starlette.datastructures import UploadFile

from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.schemas.processes import (
    MakeCurrent,
    ProcessCreate,
    ProcessRead,
    ProcessUpdate,
    ProcessVersionCreate,
    ProcessVersionRead,
)
from robofleet.server.services.processes import crud as processes
from robofleet.server.services.processes import versions
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.tables import Column, Row, table_view
from robofleet.server.web.templating import when

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def post_button(
    page: Page, action: str, label: str, *, question: str = "", danger: bool = False
) -> Markup:
    """A one-button form posting to `action` (asking first when `question` is given)."""
    asks = Markup(' data-confirm="{}"').format(question) if question else Markup("")
    css = Markup(' class="danger"') if danger else Markup("")
    return Markup(
        '<form method="post" action="{}" class="inline"{}>'
        '<input type="hidden" name="csrf_token" value="{}">'
        '<button type="submit"{}>{}</button></form>'
    ).format(action, asks, page.csrf_token, css, label)


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(href, text)


PROCESS_COLUMNS = (
    Column("name", "Name", render=lambda row: _link(f"/processes/{row['guid']}", row["name"])),
    Column("description", "Description"),
    Column("current_version", "Current version"),
    Column("pinned", "Version pinned"),
    Column("min_version_to_run", "Min version to run"),
    Column("created", "Created", render=lambda row: when(row["created"])),
    Column("updated", "Updated", render=lambda row: when(row["updated"])),
    Column("guid", "GUID", sortable=False, render=lambda row: str(row["guid"])[:8]),
)


def _process_row(process: ProcessRead) -> Row:
    version = process.process_version_guid
    return {
        "guid": process.guid,
        "name": process.name,
        "description": process.description,
        "current_version": version[:8] if version else "",
        "pinned": bool(process.version_pinned),
        "min_version_to_run": process.min_version_to_run,
        "created": process.created_at,
        "updated": process.updated_at,
    }


@router.get("/processes")
async def processes_page(page: PageDep) -> Response:
    found: list[ProcessRead] = await page.call(processes.list_processes)
    view = table_view(
        page.request,
        [_process_row(p) for p in found],
        PROCESS_COLUMNS,
        default_sort="name",
        id="processes",
    )
    if view.wants_csv:
        return view.csv_response("processes")
    return page.render("processes.html", view=view)


@router.post("/processes")
async def create_process(page: PageDep) -> Response:
    form = await page.form()
    data = ProcessCreate.model_validate(
        {
            "Name": form.get("name", ""),
            "Description": form.get("description", ""),
            "MinVersionToRun": form.get("min_version_to_run", ""),
        }
    )
    created = await page.call(processes.create_process, data)
    return page.redirect(f"/processes/{created.guid}", message=f"Process '{data.name}' created.")


def _version_columns(page: Page, process: ProcessRead) -> tuple[Column, ...]:
    can_update = page.can(Screen.PROCESS, Action.UPDATE)
    can_delete = page.can(Screen.PROCESS_VERSION, Action.DELETE)

    def actions(row: Row) -> Markup:
        guid = row["guid"]
        parts = [
            Markup(
                '<a class="button" href="/processes/versions/{}/download" download>{}</a>'
            ).format(guid, "Download")
        ]
        if can_update and not row["current"]:
            parts.append(post_button(page, f"/processes/versions/{guid}/current", "Make current"))
        if can_delete and not row["current"]:
            parts.append(
                post_button(
                    page,
                    f"/processes/versions/{guid}/delete",
                    "Delete",
                    question=f"Delete version '{row['name']}'?",
                    danger=True,
                )
            )
        return Markup('<div class="row-actions">{}</div>').format(Markup("").join(parts))

    def current(row: Row) -> Markup:
        if row["current"]:
            return Markup('<span class="badge badge-good">Current</span>')
        return Markup("")

    return (
        Column("current", "Current", render=current),
        Column("name", "Name"),
        Column("file_name", "File"),
        Column("size", "Size (bytes)", numeric=True),
        Column("kind", "Kind"),
        Column("sha256", "SHA-256", render=lambda row: str(row["sha256"])[:10]),
        Column("created", "Uploaded", render=lambda row: when(row["created"])),
        Column("guid", "GUID", sortable=False, render=lambda row: str(row["guid"])[:8]),
        Column("actions", "Actions", sortable=False, render=actions, export=False),
    )


def _version_row(version: ProcessVersionRead) -> Row:
    return {
        "_id": f"version-{version.guid}",
        "_class": "current" if version.is_current else "",
        "guid": version.guid,
        "current": bool(version.is_current),
        "name": version.name,
        "file_name": version.process_file_name,
        "size": version.size,
        "kind": version.kind,
        "entry_point": version.entry_point,
        "sha256": version.sha256,
        "created": version.created_at,
    }


@router.get("/processes/{guid}")
async def process_page(guid: str, page: PageDep) -> Response:
    process: ProcessRead = await page.call(processes.read_process, guid)
    found: list[ProcessVersionRead] = await page.call(versions.list_versions, process.guid)
    view = table_view(
        page.request,
        [_version_row(v) for v in found],
        _version_columns(page, process),
        default_sort="created",
        default_descending=True,
        id="versions",
    )
    if view.wants_csv:
        return view.csv_response(f"versions-{process.name}")
    current = next((v for v in found if v.is_current), None)
    return page.render("process.html", process=process, view=view, current=current)


@router.post("/processes/{guid}/edit")
async def edit_process(guid: str, page: PageDep) -> Response:
    form = await page.form()
    data = ProcessUpdate.model_validate(
        {
            "Guid": guid,
            "Name": form.get("name", ""),
            "Description": form.get("description", ""),
            "MinVersionToRun": form.get("min_version_to_run", ""),
            "VersionPinned": "1" if form.get("version_pinned") else "0",
        }
    )
    await page.call(processes.update_process, data)
    return page.redirect(f"/processes/{guid}", message="Process saved.")


@router.post("/processes/{guid}/delete")
async def delete_process(guid: str, page: PageDep) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this process and hide its versions?", form)
    await page.call(processes.delete_process, guid)
    return page.redirect("/processes", message="Process deleted.")


@router.post("/processes/{guid}/versions")
async def upload_version(guid: str, request: Request, page: PageDep) -> Response:
    """The upload form (multipart, the file `ProcessFile`), as the API's processVersion/create
    reads it; the answer is the process page (303), which the script then shows."""
    form = await request.form(max_files=1, max_fields=100)
    upload = form.get("ProcessFile")
    fields: dict[str, Any] = {
        "ProcessGuid": guid,
        "Name": form.get("version_name") or None,
        "Description": form.get("version_description") or "",
    }
    if form.get("make_current") in {"0", "1"}:
        fields["MakeCurrent"] = form.get("make_current")
    data = ProcessVersionCreate.model_validate(fields)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput.for_field("ProcessFile", "is required: choose the package to upload")
    created: ProcessVersionRead = await page.call(
        versions.create_version, data, upload.file, upload.filename
    )
    state = " It is the current version." if created.is_current else ""
    return page.redirect(f"/processes/{guid}", message=f"Version '{created.name}' uploaded.{state}")


@router.post("/processes/versions/{guid}/current")
async def make_current(guid: str, page: PageDep) -> Response:
    made: ProcessVersionRead = await page.call(versions.set_current, MakeCurrent(guid=guid))
    return page.redirect(
        f"/processes/{made.process_guid}", message=f"Version '{made.name}' is now current."
    )


@router.post("/processes/versions/{guid}/delete")
async def delete_version(guid: str, page: PageDep) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this version?", form)
    version: ProcessVersionRead = await page.call(versions.read_version, guid)
    await page.call(versions.delete_version, guid)
    return page.redirect(
        f"/processes/{version.process_guid}", message=f"Version '{version.name}' deleted."
    )


@router.get("/processes/versions/{guid}/download")
async def download_version(guid: str, page: PageDep) -> Response:
    sent = await page.call(versions.package_download, guid, None, None)
    return StreamingResponse(sent.chunks, status_code=sent.status, headers=sent.headers)
