"""Packages (issue 8, defect 7): a zip the agent would refuse to lay out (backslash, drive
letter, `..`, absolute path, symbolic link) is refused at upload with a 422 naming the entry,
and the upload size limit holds for JSON and form uploads (base64) as for multipart."""

from __future__ import annotations

import base64
import io
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import Tenant, database_url, make_tenant
from tests.support.server import ServerProcess

MAIN = "print('hello')\n"


def zip_with(name: str, *, symlink: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", MAIN)
        info = zipfile.ZipInfo(name)
        if symlink:
            info.create_system = 3  # Unix, so the mode bits below are read
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd" if symlink else "x = 1\n")
    return buffer.getvalue()


def upload(api: httpx.Client, process: str, content: bytes) -> httpx.Response:
    return api.post(
        "/api/processVersion/create",
        data={"ProcessGuid": process},
        files={"ProcessFile": ("package.zip", content, "application/zip")},
    )


def new_process(api: httpx.Client) -> str:
    response = api.post("/api/process/create", json={"Name": "packaged"})
    assert response.status_code == 200, response.text
    return str(response.json()["guid"])


@pytest.mark.parametrize(
    ("entry", "symlink", "why"),
    [
        ("lib\\helper.py", False, "backslash"),
        ("C:/evil.py", False, "drive letter"),
        ("C:evil.py", False, "drive letter"),
        ("..\\evil.py", False, "backslash"),
        ("../evil.py", False, "climbs out"),
        ("/abs/evil.py", False, "absolute"),
        ("lib/link.py", True, "symbolic link"),
    ],
)
def test_unsafe_entries_are_refused_at_upload(
    tenant: Tenant, entry: str, symlink: bool, why: str
) -> None:
    api = tenant.api
    process = new_process(api)
    response = upload(api, process, zip_with(entry, symlink=symlink))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["details"][0]["field"] == "ProcessFile"
    assert f"'{entry}'" in body["message"]  # names the entry
    assert why in body["message"]
    assert api.get(f"/api/processVersion/list/{process}").json() == []  # nothing kept


def test_a_package_with_folders_is_still_accepted(tenant: Tenant) -> None:
    api = tenant.api
    process = new_process(api)
    response = upload(api, process, zip_with("lib/helper.py"))
    assert response.status_code == 200, response.text
    assert response.json()["entry_point"] == "main.py"


def test_the_agent_and_the_server_share_the_rule(tmp_path: Path) -> None:
    """What the server refuses, the agent refuses to lay out (robot.packages)."""
    from robofleet.packaging import unsafe_entry
    from robofleet.robot.packages import PackageError, lay_out

    for entry, symlink in [("lib\\helper.py", False), ("C:/x.py", False), ("l.py", True)]:
        package = tmp_path / "p.zip"
        package.write_bytes(zip_with(entry, symlink=symlink))
        with zipfile.ZipFile(package) as archive:
            info = archive.getinfo(entry)
            assert unsafe_entry(info.filename, info.external_attr) is not None
        with pytest.raises(PackageError, match="unsafe path"):
            lay_out(package, "p.zip", tmp_path / "job")


# --- the upload limit, for every encoding ------------------------------------------------------

LIMIT = 4096


@pytest.fixture(params=["sqlite", "postgres"])
def small_uploads(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url_factory: list[str]
) -> Iterator[Tenant]:
    """A server of its own whose uploads are at most LIMIT bytes."""

    server = ServerProcess(
        data_dir=tmp_path / "data",
        database_url=database_url(request.param, pg_url_factory),
        env={"ROBOFLEET_MAX_UPLOAD_BYTES": str(LIMIT)},
    ).start()
    try:
        tenant = make_tenant(server)
        yield tenant
        tenant.api.close()
    finally:
        server.stop()


def script(size: int) -> bytes:
    return (b"# " + b"x" * size)[: size - 1] + b"\n"


def test_the_upload_limit_holds_for_base64_uploads(small_uploads: Tenant) -> None:
    api = small_uploads.api
    process = new_process(api)
    too_big = base64.b64encode(script(LIMIT + 1)).decode()
    fits = base64.b64encode(script(LIMIT - 100)).decode()
    fields = {"ProcessGuid": process, "FileName": "main.py"}

    response = api.post("/api/processVersion/create", json={**fields, "ProcessFile": too_big})
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "body_too_large"
    assert str(LIMIT) in response.json()["message"]
    assert response.json()["details"][0]["field"] == "ProcessFile"
    response = api.post("/api/processVersion/create", data={**fields, "ProcessFile": too_big})
    assert response.status_code == 413, response.text
    response = api.post(
        "/api/processVersion/create",
        data={"ProcessGuid": process},
        files={"ProcessFile": ("main.py", script(LIMIT + 1), "text/x-python")},
    )
    assert response.status_code == 413, response.text  # multipart, as before
    assert api.get(f"/api/processVersion/list/{process}").json() == []

    response = api.post("/api/processVersion/create", json={**fields, "ProcessFile": fits})
    assert response.status_code == 200, response.text
    assert response.json()["size"] == LIMIT - 100
