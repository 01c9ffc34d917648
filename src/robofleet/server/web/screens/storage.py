"""Storage: folders and their files; uploads with progress, downloads, previews (text in a
<pre>, images in an <img>, PDF in a frame) and deletes that ask first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from markupsafe import Markup
from starlette.datastructures import UploadFile

from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.storage import (
    FileFilter,
    FileRead,
    FileSign,
    FileUpdate,
    FileUpload,
    FolderCreate,
    FolderFilter,
    FolderRead,
    FolderUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.storage import files, folders, signed
from robofleet.server.services.storage.content import Incoming
from robofleet.server.services.storage.transfer import Download
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed, local_path
from robofleet.server.web.tables import Column, Row, every_page, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)

TEXT_PREVIEW_BYTES: Final = 256 * 1024
TEXT_TYPES: Final = frozenset(
    {
        "application/json",
        "application/xml",
        "application/x-yaml",
        "application/yaml",
        "application/javascript",
        "application/x-sh",
        "application/csv",
        "application/sql",
    }
)
IMAGE_TYPES: Final = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/svg+xml"}
)
PDF: Final = "application/pdf"
SANDBOXED: Final = (
    "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'"
)
"""What a file shown inline may do: nothing (an SVG's script or an HTML file does not run)."""


def preview_kind(content_type: str) -> str:
    """How the file page shows a file: text, image, pdf, or none."""
    base = content_type.split(";")[0].strip().lower()
    if base in IMAGE_TYPES:
        return "image"
    if base.startswith("text/") or base in TEXT_TYPES or base.endswith(("+json", "+xml")):
        return "text"
    if base == PDF:
        return "pdf"
    return "none"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


# --- reads that gather every page of a list --------------------------------------------


def _all_folders(runtime: Runtime, caller: Caller, parent: str | None) -> list[FolderRead]:
    return every_page(
        lambda offset, count: folders.list_folders(
            runtime,
            caller,
            FolderFilter.model_validate({"offset": offset, "count": count, "parent": parent}),
        )
    )


def _all_files(runtime: Runtime, caller: Caller, folder: str) -> list[FileRead]:
    return every_page(
        lambda offset, count: files.list_files(
            runtime,
            caller,
            FileFilter.model_validate({"offset": offset, "count": count, "folder": folder}),
        )
    )


def _text_head(runtime: Runtime, caller: Caller, guid: str, size: int) -> str:
    """The first bytes of a text file, decoded (a broken character shown as �)."""
    if size == 0:
        return ""
    wanted = f"bytes=0-{min(size, TEXT_PREVIEW_BYTES) - 1}"
    download = files.download_file(runtime, caller, guid, wanted)
    return b"".join(download.chunks).decode("utf-8", errors="replace")


# --- folders -----------------------------------------------------------------------------


def _folder_link(row: Row) -> Markup:
    return Markup('<a href="/storage/folders/{}">{}</a>').format(row["guid"], row["name"])


FOLDER_COLUMNS: Final = (
    Column("name", "Name", render=_folder_link),
    Column("path", "Path"),
    Column("description", "Description"),
    Column("updated_at", "Updated"),
)


@router.get("/storage")
async def storage_home(page: PageDep) -> Response:
    found: list[FolderRead] = await page.call(_all_folders, None)
    rows = [
        {
            "guid": f.guid,
            "name": f.name,
            "path": f.path,
            "description": f.description,
            "updated_at": f.updated_at,
        }
        for f in found
    ]
    view = table_view(page.request, rows, FOLDER_COLUMNS, default_sort="path", id="folders")
    if view.wants_csv:
        return view.csv_response("storage-folders")
    parents = [("", "(top level)"), *sorted(((f.guid, f.path) for f in found), key=lambda p: p[1])]
    return page.render("storage/home.html", view=view, parents=parents)


@router.post("/storage/folders")
async def folder_create(page: PageDep) -> Response:
    form = await page.form()
    data = FolderCreate.model_validate(
        {
            "name": form.get("name", ""),
            "description": form.get("description", ""),
            "parent_guid": form.get("parent") or None,
        }
    )
    made = await page.call(folders.create_folder, data)
    return page.redirect(f"/storage/folders/{made.guid}", message=f"Folder {data.name} created.")


def _file_link(row: Row) -> Markup:
    return Markup('<a href="/storage/files/{}">{}</a>').format(row["guid"], row["name"])


def _size_cell(row: Row) -> str:
    return human_size(int(row["size"]))


def _download_cell(row: Row) -> Markup:
    return Markup(
        '<a href="/storage/files/{}/download" download>Download<span class="visually-hidden"> {}'
        "</span></a>"
    ).format(row["guid"], row["name"])


FILE_COLUMNS: Final = (
    Column("name", "Name", render=_file_link),
    Column("size", "Size", render=_size_cell, numeric=True),
    Column("content_type", "Type"),
    Column("updated_at", "Updated"),
    Column("download", "Download", sortable=False, render=_download_cell, export=False),
)


async def _folder_page(page: Page, ref: str) -> Response:
    """A folder's files (ref "" is the root), its folders, and the upload form."""
    folder: FolderRead | None = await page.call(folders.read_folder, ref) if ref else None
    found: list[FileRead] = await page.call(_all_files, ref)
    inside: list[FolderRead] = await page.call(_all_folders, ref)
    rows = [
        {
            "guid": f.guid,
            "name": f.name,
            "size": f.size,
            "content_type": f.content_type,
            "updated_at": f.updated_at,
            "download": "",
        }
        for f in found
    ]
    view = table_view(page.request, rows, FILE_COLUMNS, default_sort="name", id="files")
    if view.wants_csv:
        return view.csv_response("storage-files")
    here = f"/storage/folders/{folder.guid}" if folder else "/storage/root"
    places: list[tuple[str, str]] = []
    if folder and page.can(Screen.STORAGE, Action.UPDATE):
        every: list[FolderRead] = await page.call(_all_folders, None)
        others = sorted(
            ((f.guid, f.path) for f in every if f.guid != folder.guid), key=lambda p: p[1]
        )
        places = [("", "(top level)"), *others]
    return page.render(
        "storage/folder.html", folder=folder, view=view, inside=inside, here=here, places=places
    )


@router.get("/storage/root")
async def root_folder(page: PageDep) -> Response:
    return await _folder_page(page, "")


@router.get("/storage/folders/{guid}")
async def folder_detail(page: PageDep, guid: str) -> Response:
    return await _folder_page(page, guid)


@router.post("/storage/folders/{guid}/edit")
async def folder_update(page: PageDep, guid: str) -> Response:
    form = await page.form()
    data = FolderUpdate.model_validate(
        {
            "guid": guid,
            "name": form.get("name", ""),
            "description": form.get("description", ""),
            "parent_guid": form.get("parent", ""),
        }
    )
    await page.call(folders.update_folder, data)
    return page.redirect(f"/storage/folders/{guid}", message="Folder saved.")


@router.post("/storage/folders/{guid}/delete")
async def folder_delete(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this folder?", form)
    await page.call(folders.delete_folder, guid)
    return page.redirect("/storage", message="Folder deleted.")


async def _upload(page: Page, ref: str, back: str) -> Response:
    """Each chosen file stored as the API's streamed upload stores it (a file of the same
    name in the folder is replaced)."""
    form = await page.form()
    chosen = [
        part for part in form.getlist("files") if isinstance(part, UploadFile) and part.filename
    ]
    if not chosen:
        return page.redirect(back, error="Choose a file to upload first.")
    for part in chosen:
        name = (part.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        data = FileUpload.model_validate({"name": name, "folder": ref})
        incoming = Incoming(part.file, name, part.content_type)
        await page.call(files.upload_file, data, incoming)
    names = ", ".join(part.filename or "" for part in chosen)
    return page.redirect(back, message=f"Uploaded {names}.")


@router.post("/storage/root/upload")
async def root_upload(page: PageDep) -> Response:
    return await _upload(page, "", "/storage/root")


@router.post("/storage/folders/{guid}/upload")
async def folder_upload(page: PageDep, guid: str) -> Response:
    return await _upload(page, guid, f"/storage/folders/{guid}")


# --- files -------------------------------------------------------------------------------


LINK_LIFETIMES: Final = (("3600", "1 hour"), ("86400", "1 day"), ("604800", "7 days"))


async def _file_page(page: Page, guid: str, link: str = "", link_until: str = "") -> Response:
    file: FileRead = await page.call(files.read_file, guid)
    kind = preview_kind(file.content_type)
    text = await page.call(_text_head, guid, file.size) if kind == "text" else None
    may_edit = page.can(Screen.STORAGE, Action.UPDATE)
    found: list[FolderRead] = await page.call(_all_folders, None) if may_edit else []
    places = [("", "(top level)"), *sorted(((f.guid, f.path) for f in found), key=lambda p: p[1])]
    return page.render(
        "storage/file.html",
        file=file,
        kind=kind,
        text=text,
        truncated=kind == "text" and file.size > TEXT_PREVIEW_BYTES,
        size=human_size(file.size),
        back=f"/storage/folders/{file.folder_guid}" if file.folder_guid else "/storage/root",
        api_url=str(page.request.base_url).rstrip("/") + file.url,
        link=link,
        link_until=link_until,
        lifetimes=LINK_LIFETIMES,
        may_edit=may_edit,
        places=places,
    )


@router.get("/storage/files/{guid}")
async def file_detail(page: PageDep, guid: str) -> Response:
    return await _file_page(page, guid)


@router.post("/storage/files/{guid}/link")
async def file_link(page: PageDep, guid: str) -> Response:
    """A signed download URL anyone holding it may use until it expires (the API's sign)."""
    form = await page.form()
    data = FileSign.model_validate(
        {"file": guid, "method": "GET", "expires_in": form.get("expires_in") or "3600"}
    )
    made = await page.call(signed.sign_file, data)
    until = datetime.fromtimestamp(made.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    url = str(page.request.base_url).rstrip("/") + made.url
    response = await _file_page(page, guid, link=url, link_until=until)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/storage/files/{guid}/edit")
async def file_update(page: PageDep, guid: str) -> Response:
    form = await page.form()
    data = FileUpdate.model_validate(
        {
            "guid": guid,
            "name": form.get("name", ""),
            "description": form.get("description", ""),
            "folder_guid": form.get("folder", ""),
        }
    )
    await page.call(files.update_file, data, None)
    return page.redirect(f"/storage/files/{guid}", message="File saved.")


def _streamed(download: Download, headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(
        download.chunks,
        status_code=download.status,
        headers={**download.headers, **(headers or {})},
    )


@router.get("/storage/files/{guid}/download")
async def file_download(page: PageDep, guid: str, request: Request) -> Response:
    download: Download = await page.call(files.download_file, guid, request.headers.get("range"))
    return _streamed(download, {"X-Content-Type-Options": "nosniff"})


@router.get("/storage/files/{guid}/inline")
async def file_inline(page: PageDep, guid: str, request: Request) -> Response:
    """The content for the preview: `inline` for text (as plain text), images and PDF; any
    other type downloads. Never runs as a page of this site (sandboxed, no sniffing)."""
    file: FileRead = await page.call(files.read_file, guid)
    download: Download = await page.call(files.download_file, guid, request.headers.get("range"))
    kind = preview_kind(file.content_type)
    if kind == "none":
        return _streamed(download, {"X-Content-Type-Options": "nosniff"})
    disposition = download.headers["Content-Disposition"].replace("attachment", "inline", 1)
    headers: dict[str, Any] = {
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "private, no-cache",
    }
    if kind == "text":
        headers["Content-Type"] = "text/plain; charset=utf-8"
    if kind == "pdf":
        # Chromium's PDF viewer refuses a sandboxed document; the frame is this site's.
        headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    else:
        headers["Content-Security-Policy"] = SANDBOXED
    return _streamed(download, headers)


@router.post("/storage/files/{guid}/delete")
async def file_delete(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this file?", form)
    await page.call(files.delete_file, guid)
    back = local_path(str(form.get("back") or ""), "/storage")
    return page.redirect(back, message="File deleted.")
