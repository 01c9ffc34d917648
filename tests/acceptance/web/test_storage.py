"""Storage in a real browser: folders, uploads with progress, downloads with the same bytes,
previews (text, image, PDF) served inline, and deletes that ask first."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.acceptance.conftest import Tenant
from tests.support.browser import assert_accessible, screenshot, sign_in

NOTES = "Invoice run\n<b>not bold</b> & kept as text\nline three — ünïcode\n"


def _png(width: int = 3, height: int = 2) -> bytes:
    """A small valid PNG (red pixels), made here so the test holds its own data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_a_folder_is_created_files_uploaded_downloaded_previewed_and_deleted(
    admin_page: Page, tenant: Tenant, tmp_path: Path
) -> None:
    page, base = admin_page, tenant.server.url
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/storage")
    page.get_by_label("Name").fill("Invoices")
    page.get_by_label("Description").fill("Scanned invoices")
    page.get_by_role("button", name="Create folder").click()
    expect(page.get_by_role("heading", name="Folder Invoices")).to_be_visible()
    folder = _ok(tenant.api.get("/api/folders/read/Invoices"))
    assert folder["description"] == "Scanned invoices"

    notes, image = tmp_path / "notes.txt", tmp_path / "pixel.png"
    notes.write_bytes(NOTES.encode())
    image.write_bytes(_png())
    page.get_by_label("Choose files, or drop them here").set_input_files([str(notes), str(image)])
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/upload")) as sent:
        page.get_by_role("button", name="Upload").click()
    # The script sent it (XHR, with the progress bar), not the plain form post.
    assert sent.value.headers.get("x-requested-with") == "fetch"
    expect(page.get_by_role("status")).to_have_text("Uploaded notes.txt, pixel.png.")
    files = page.locator("#files")
    expect(files.get_by_role("link", name="notes.txt", exact=True)).to_be_visible()
    expect(files.get_by_role("link", name="pixel.png", exact=True)).to_be_visible()
    expect(files.get_by_role("row").filter(has_text="notes.txt")).to_contain_text(
        f"{len(NOTES.encode())} bytes"
    )
    listed = _ok(tenant.api.get("/api/files/list", params={"Folder": folder["guid"]}))
    assert sorted(f["name"] for f in listed) == ["notes.txt", "pixel.png"]
    assert_accessible(page)
    screenshot(page, "storage-folder")

    with page.expect_download() as download_info:
        files.get_by_role("link", name="Download pixel.png").click()
    assert download_info.value.suggested_filename == "pixel.png"
    assert Path(download_info.value.path()).read_bytes() == _png()

    files.get_by_role("link", name="notes.txt", exact=True).click()
    expect(page.get_by_role("heading", name="File notes.txt")).to_be_visible()
    expect(page.locator("#text-preview")).to_have_text(NOTES)
    assert_accessible(page)
    screenshot(page, "storage-file-text")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download", exact=True).click()
    assert Path(download_info.value.path()).read_bytes() == NOTES.encode()
    expect(page.locator("#api-url")).to_have_text(re.compile(r"/api/files/download/[0-9a-f-]+$"))
    page.get_by_label("Link valid for").select_option(label="1 day")
    page.get_by_role("button", name="Create a download link").click()
    link = page.locator("#shared-link").inner_text().strip()
    assert "/api/files/signed/" in link
    with httpx.Client() as stranger:  # no credentials: the signature is enough
        assert stranger.get(link).content == NOTES.encode()
    assert_accessible(page)

    page.get_by_role("link", name="Invoices").first.click()
    files.get_by_role("link", name="pixel.png", exact=True).click()
    preview = page.get_by_role("img", name="Preview of pixel.png")
    expect(preview).to_be_visible()
    expect(preview).to_have_js_property("complete", True)
    expect(preview).to_have_js_property("naturalWidth", 3)  # the image decoded
    assert_accessible(page)
    screenshot(page, "storage-file-image")
    inline = page.request.get(f"{page.url}/inline")
    assert inline.status == 200 and inline.body() == _png()
    assert inline.headers["content-type"] == "image/png"
    assert inline.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in inline.headers["content-security-policy"]

    # The folder holds files: it cannot be deleted yet.
    page.goto(f"{base}/storage/folders/{folder['guid']}")
    page.get_by_role("button", name="Delete folder").click()
    expect(page.get_by_role("alert")).to_contain_text("not empty")
    expect(page.get_by_role("heading", name="Folder Invoices")).to_be_visible()

    for name in ("pixel.png", "notes.txt"):
        files.get_by_role("link", name=name, exact=True).click()
        page.get_by_role("button", name="Delete file").click()
        expect(page.get_by_role("status")).to_contain_text("File deleted")
        expect(page.get_by_role("heading", name="Folder Invoices")).to_be_visible()
        expect(files.get_by_role("link", name=name, exact=True)).to_have_count(0)
    assert _ok(tenant.api.get("/api/files/list", params={"Folder": folder["guid"]})) == []

    page.get_by_role("button", name="Delete folder").click()
    expect(page.get_by_role("status")).to_contain_text("Folder deleted")
    expect(page.get_by_role("link", name="Invoices")).to_have_count(0)
    assert tenant.api.get(f"/api/folders/read/{folder['guid']}").status_code == 404


def test_storage_lists_folders_and_previews_a_pdf_and_text_as_plain_text(
    admin_page: Page, tenant: Tenant
) -> None:
    page, base = admin_page, tenant.server.url
    for name in ("Reports", "Archive"):
        _ok(tenant.api.post("/api/folders/create", json={"Name": name}))
    _ok(tenant.api.post("/api/folders/create", json={"Name": "2026", "ParentGuid": "Reports"}))
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n%%EOF\n"
    html = b"<script>document.title='ran'</script><h1>page</h1>"
    for name, content in (("summary.pdf", pdf), ("page.html", html)):
        answer = tenant.api.put(
            "/api/files/upload", params={"Name": name, "Folder": "Reports"}, content=content
        )
        assert answer.status_code == 200, answer.text

    page.goto(f"{base}/storage")
    table = page.locator("#folders")
    expect(table.get_by_role("link", name="Reports")).to_be_visible()
    expect(table.get_by_role("row").filter(has_text="Reports/2026")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "storage")
    page.goto(f"{base}/storage?q=arch")
    expect(table.get_by_role("link", name="Archive")).to_be_visible()
    expect(table.get_by_role("link", name="Reports")).to_have_count(0)

    table.get_by_role("link", name="Archive").click()
    expect(page.get_by_role("heading", name="Folder Archive")).to_be_visible()
    # Renamed and moved inside Reports; a folder cannot move into itself.
    page.get_by_role("textbox", name="Name").fill("Old reports")
    page.get_by_label("Inside").select_option(label="Reports")
    page.get_by_role("button", name="Save folder").click()
    expect(page.get_by_role("heading", name="Folder Reports/Old reports")).to_be_visible()
    moved = _ok(tenant.api.get("/api/folders/read/Reports/Old reports"))
    assert moved["name"] == "Old reports"
    assert_accessible(page)
    page.goto(f"{base}/storage/folders/Reports")
    page.get_by_label("Inside").select_option(label="Reports/Old reports")
    page.get_by_role("button", name="Save folder").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot move into itself")
    page.goto(f"{base}/storage")
    table.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("link", name="2026")).to_be_visible()  # its folder inside
    page.locator("#files").get_by_role("link", name="summary.pdf", exact=True).click()
    frame = page.locator("#pdf-preview")
    expect(frame).to_have_attribute("title", "Preview of summary.pdf")
    inline = page.request.get(f"{page.url}/inline")
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline;")
    assert inline.body() == pdf
    screenshot(page, "storage-file-pdf")

    # An HTML file is text to read, never a page of this site.
    page.goto(f"{base}/storage/folders/Reports")
    page.locator("#files").get_by_role("link", name="page.html", exact=True).click()
    expect(page.locator("#text-preview")).to_have_text(html.decode())
    inline = page.request.get(f"{page.url}/inline")
    assert inline.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in inline.headers["content-security-policy"]
    assert page.title() != "ran"


def test_files_at_the_top_level_are_uploaded_without_a_folder(
    admin_page: Page, tenant: Tenant, tmp_path: Path
) -> None:
    page, base = admin_page, tenant.server.url
    page.goto(f"{base}/storage")
    page.get_by_role("link", name="Files at the top level").click()
    expect(page.get_by_role("heading", name="Top-level files")).to_be_visible()
    expect(page.locator("#files")).to_contain_text("Nothing to show")
    report = tmp_path / "report.csv"
    report.write_text("a,b\n1,2\n")
    page.get_by_label("Choose files, or drop them here").set_input_files(str(report))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_have_text("Uploaded report.csv.")
    expect(
        page.locator("#files").get_by_role("link", name="report.csv", exact=True)
    ).to_be_visible()
    assert_accessible(page)
    screenshot(page, "storage-root")
    at_root = _ok(tenant.api.get("/api/files/list", params={"Folder": ""}))
    assert [(f["name"], f["folder_guid"]) for f in at_root] == [("report.csv", None)]
    # The same name again replaces the content (as the API's streamed upload does).
    report.write_text("a,b\n3,4\n")
    page.get_by_label("Choose files, or drop them here").set_input_files(str(report))
    page.get_by_role("button", name="Upload").click()
    # The page the script loads after the upload has an empty file input again.
    expect(page.get_by_label("Choose files, or drop them here")).to_have_value("")
    expect(page.get_by_role("status")).to_have_text("Uploaded report.csv.")
    page.locator("#files").get_by_role("link", name="report.csv", exact=True).click()
    expect(page.locator("#text-preview")).to_have_text("a,b\n3,4\n")

    # Renamed, described and moved into a folder.
    done = _ok(tenant.api.post("/api/folders/create", json={"Name": "Done"}))["guid"]
    page.reload()
    page.get_by_role("textbox", name="Name").fill("report-final.csv")
    page.get_by_label("Description").fill("Signed off")
    page.get_by_label("Folder").select_option(label="Done")
    page.get_by_role("button", name="Save file").click()
    expect(page.get_by_role("status")).to_have_text("File saved.")
    expect(page.get_by_role("heading", name="File report-final.csv")).to_be_visible()
    moved = _ok(tenant.api.get("/api/files/read/Done/report-final.csv"))
    assert (moved["description"], moved["folder_guid"]) == ("Signed off", done)
    assert _ok(tenant.api.get("/api/files/list", params={"Folder": ""})) == []


def test_without_the_script_uploads_post_and_deletes_ask_on_a_page(
    browser: Browser, tenant: Tenant, tmp_path: Path
) -> None:
    base = tenant.server.url
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    try:
        page = context.new_page()
        sign_in(page, base, tenant.login, tenant.password)
        page.goto(f"{base}/storage/root")
        plain = tmp_path / "plain.txt"
        plain.write_text("posted without a script\n")
        page.get_by_label("Choose files, or drop them here").set_input_files(str(plain))
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_role("status")).to_have_text("Uploaded plain.txt.")
        page.locator("#files").get_by_role("link", name="plain.txt", exact=True).click()
        page.get_by_role("button", name="Delete file").click()
        expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
        expect(page.locator(".confirm-question")).to_have_text("Delete this file?")
        page.get_by_role("button", name="Yes, go on").click()
        expect(page.get_by_role("status")).to_have_text("File deleted.")
        expect(page).to_have_url(re.compile(r"/storage/root$"))
        assert _ok(tenant.api.get("/api/files/list", params={"Folder": ""})) == []
    finally:
        context.close()


def test_without_the_script_a_refused_confirmed_action_returns_to_its_page(
    browser: Browser, tenant: Tenant
) -> None:
    """The confirmation page's post names where to go back: a refusal lands on the folder
    page with the message, not on the confirmation page's post-only URL."""
    base = tenant.server.url
    folder = _ok(tenant.api.post("/api/folders/create", json={"Name": "kept"}))["guid"]
    inside = tenant.api.put(
        "/api/files/upload", params={"Folder": "kept", "Name": "still-here.txt"}, content=b"x"
    )
    assert inside.status_code == 200, inside.text
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, base, tenant.login, tenant.password)
        page.goto(f"{base}/storage/folders/{folder}")
        page.get_by_role("button", name="Delete folder").click()
        expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
        page.get_by_role("button", name="Yes, go on").click()
        expect(page).to_have_url(re.compile(rf"/storage/folders/{folder}$"))
        expect(page.get_by_role("alert")).to_be_visible()
    finally:
        context.close()
    assert _ok(tenant.api.get(f"/api/folders/read/{folder}"))["guid"] == folder
