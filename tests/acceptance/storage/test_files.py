"""Storage files through a real server on every blob store: Sherpa's upload forms (multipart,
Base16 and Base32 text), the streamed upload, rename/move/replace, Range downloads."""

from __future__ import annotations

import base64
import hashlib

import httpx

from tests.acceptance.conftest import Tenant
from tests.acceptance.storage.test_folders import create as create_folder

PDF = b"%PDF-1.4 a small pdf\n" + bytes(range(256)) * 40


def create_multipart(api: httpx.Client, name: str, content: bytes, **fields: str) -> str:
    response = api.post(
        "/api/files/create",
        data={"Name": name, **fields},
        files={"File": (name, content, "application/pdf")},
    )
    assert response.status_code == 200, response.text
    assert response.json() == []
    assert response.headers["Location"] == f"/api/files/read/{response.headers['X-Guid']}"
    return response.headers["X-Guid"]


def test_multipart_upload_keeps_hash_size_type_and_downloads_the_same(tenant: Tenant) -> None:
    api = tenant.api
    folder = create_folder(api, "Docs")
    guid = create_multipart(api, "report.pdf", PDF, folder_guid=folder, Description="Q4")
    row = api.get(f"/api/files/read/{guid}").json()
    assert row["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert row["size"] == len(PDF)
    assert row["content_type"] == "application/pdf"
    assert row["folder_guid"] == folder
    assert row["path"] == "Docs/report.pdf"
    assert row["description"] == "Q4"
    assert row["url"] == f"/api/files/download/{guid}"
    assert api.get("/api/files/read/Docs/report.pdf").json()["guid"] == guid
    assert api.get(f"/api/files/read/{row['id']}").json()["guid"] == guid

    download = api.get(row["url"])
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["etag"] == f'"{row["sha256"]}"'
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["accept-ranges"] == "bytes"
    assert 'filename="report.pdf"' in download.headers["content-disposition"]
    assert api.get("/api/files/download/Docs/report.pdf").content == PDF


def test_sherpa_text_forms_base16_base32_and_explicit_encodings(tenant: Tenant) -> None:
    api = tenant.api
    content = "Счёт №42\n".encode()
    forms = {
        "hex.txt": {"Name": "hex.txt", "File": content.hex().upper()},
        "b32.txt": {"Name": "b32.txt", "File": base64.b32encode(content).decode().rstrip("=")},
        "b64.txt": {
            "Name": "b64.txt",
            "File": base64.b64encode(content).decode(),
            "Encoding": "base64",
        },
        "plain.txt": {"Name": "plain.txt", "File": content.decode(), "Encoding": "text"},
    }
    for name, body in forms.items():
        response = api.post("/api/files/create", json=body)
        assert response.status_code == 200, (name, response.text)
        assert api.get(f"/api/files/download/{name}").content == content, name
    form = api.post("/api/files/create", data={"name": "form.txt", "file": content.hex()})
    assert form.status_code == 200, form.text
    assert api.get("/api/files/download/form.txt").content == content
    assert api.get("/api/files/read/form.txt").json()["content_type"] == "text/plain"

    bad = api.post("/api/files/create", json={"Name": "bad.txt", "File": "not base anything!"})
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "File"
    wrong = api.post(
        "/api/files/create", json={"Name": "w.txt", "File": "zz", "Encoding": "base16"}
    )
    assert wrong.status_code == 422
    missing = api.post("/api/files/create", json={"Name": "none.txt"})
    assert missing.status_code == 422
    assert api.post("/api/files/create", json={"File": "00"}).status_code == 422


def test_range_downloads(tenant: Tenant) -> None:
    api = tenant.api
    guid = create_multipart(api, "r.pdf", PDF)
    part = api.get(f"/api/files/download/{guid}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == PDF[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(PDF)}"
    assert part.headers["content-length"] == "10"
    tail = api.get(f"/api/files/download/{guid}", headers={"Range": "bytes=-5"})
    assert tail.status_code == 206
    assert tail.content == PDF[-5:]
    rest = api.get(f"/api/files/download/{guid}", headers={"Range": f"bytes={len(PDF) - 3}-"})
    assert rest.content == PDF[-3:]
    beyond = api.get(f"/api/files/download/{guid}", headers={"Range": f"bytes={len(PDF)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(PDF)}"
    ignored = api.get(f"/api/files/download/{guid}", headers={"Range": "lines=1-2"})
    assert ignored.status_code == 200
    assert ignored.content == PDF


def test_update_renames_moves_replaces_and_sherpa_form_by_name(tenant: Tenant) -> None:
    api = tenant.api
    a = create_folder(api, "A")
    b = create_folder(api, "B")
    guid = create_multipart(api, "one.pdf", PDF, folder_guid=a)
    renamed = api.put("/api/files/update", json={"Guid": guid, "Name": "two.pdf", "FolderGuid": b})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == []
    assert api.get("/api/files/read/B/two.pdf").json()["guid"] == guid
    assert api.get("/api/files/read/A/one.pdf").status_code == 404

    replaced = api.put(
        "/api/files/update",
        data={"guid": guid},
        files={"File": ("new.bin", b"new content", "application/octet-stream")},
    )
    assert replaced.status_code == 200, replaced.text
    row = api.get(f"/api/files/read/{guid}").json()
    assert row["size"] == len(b"new content")
    assert row["sha256"] == hashlib.sha256(b"new content").hexdigest()
    assert api.get(row["url"]).content == b"new content"

    # Sherpa's form names the file by Name (and folder) and replaces its content.
    by_name = api.put(
        "/api/files/update", json={"Name": "two.pdf", "FolderGuid": b, "File": b"v3".hex()}
    )
    assert by_name.status_code == 200, by_name.text
    assert api.get("/api/files/download/B/two.pdf").content == b"v3"
    to_root = api.put("/api/files/update", json={"Guid": guid, "FolderGuid": ""})
    assert to_root.status_code == 200
    assert api.get("/api/files/read/two.pdf").json()["folder_guid"] is None

    create_multipart(api, "other.pdf", PDF)
    clash = api.put("/api/files/update", json={"Guid": guid, "Name": "other.pdf"})
    assert clash.status_code == 409
    assert (
        api.post("/api/files/create", json={"Name": "other.pdf", "File": "00"}).status_code == 409
    )


def test_streamed_upload_creates_then_replaces_list_and_delete(tenant: Tenant) -> None:
    api = tenant.api
    create_folder(api, "Raw")
    body = bytes(range(256)) * 8192  # 2 MiB: several chunks
    first = api.put("/api/files/upload", params={"folder": "Raw", "name": "data.bin"}, content=body)
    assert first.status_code == 200, first.text
    row = first.json()
    assert row["size"] == len(body)
    assert row["sha256"] == hashlib.sha256(body).hexdigest()
    assert row["content_type"] == "application/octet-stream"
    again = api.put(
        "/api/files/upload",
        params={"folder": "Raw", "name": "data.bin"},
        content=b'{"a": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["guid"] == row["guid"]
    assert again.json()["content_type"] == "application/json"
    assert api.get("/api/files/download/Raw/data.bin").content == b'{"a": 1}'
    empty = api.put("/api/files/upload", params={"name": "empty.txt"}, content=b"")
    assert empty.status_code == 200, empty.text
    assert api.get("/api/files/download/empty.txt").content == b""

    listed = api.get("/api/files/list", params={"folder": "Raw"}).json()
    assert [f["name"] for f in listed] == ["data.bin"]
    root = api.get("/api/files/list", params={"folder": ""}).json()
    assert [f["name"] for f in root] == ["empty.txt"]
    assert len(api.get("/api/files/list").json()) == 2

    assert api.delete("/api/files/delete/Raw/data.bin").json() == []
    assert api.get(f"/api/files/read/{row['guid']}").status_code == 404
    assert api.get(f"/api/files/download/{row['guid']}").status_code == 404
    assert (
        api.put(
            "/api/files/upload", params={"folder": "Nope", "name": "x"}, content=b"x"
        ).status_code
        == 404
    )


def test_other_accounts_files_are_404(tenant: Tenant, other_tenant: Tenant) -> None:
    guid = create_multipart(tenant.api, "secret.pdf", PDF)
    assert other_tenant.api.get(f"/api/files/read/{guid}").status_code == 404
    assert other_tenant.api.get(f"/api/files/download/{guid}").status_code == 404
    assert other_tenant.api.delete(f"/api/files/delete/{guid}").status_code == 404
    assert other_tenant.api.post("/api/files/sign", json={"File": guid}).status_code == 404
    assert other_tenant.api.get("/api/files/list").json() == []
