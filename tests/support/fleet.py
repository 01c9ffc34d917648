"""Helpers that set up robots, processes and packages through the public API."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile

import httpx


def robot_auth(guid: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(guid.encode()).decode()}


def make_robot(api: httpx.Client, name: str | None = None, **fields: object) -> str:
    response = api.post(
        "/api/robot/create", json={"Name": name or f"robot-{uuid.uuid4().hex[:6]}", **fields}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["GUID"])


def zip_package(files: dict[str, str], manifest: dict[str, object] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if manifest is not None:
            archive.writestr("robofleet.json", json.dumps(manifest))
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def upload_version(
    api: httpx.Client,
    process: str,
    file_name: str,
    content: bytes,
    *,
    make_current: bool = True,
    **fields: str,
) -> dict[str, object]:
    response = api.post(
        "/api/processVersion/create",
        data={"ProcessGuid": process, "MakeCurrent": "1" if make_current else "0", **fields},
        files={"ProcessFile": (file_name, content, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def make_process(
    api: httpx.Client,
    name: str | None = None,
    *,
    script: str | None = None,
    file_name: str = "main.py",
    content: bytes | None = None,
) -> str:
    """A process whose current version is `script` (a .py file) or the given package."""
    name = name or f"process-{uuid.uuid4().hex[:6]}"
    response = api.post("/api/process/create", json={"Name": name})
    assert response.status_code == 200, response.text
    guid = str(response.json()["guid"])
    payload = content if content is not None else (script or "print('hello')\n").encode()
    upload_version(api, guid, file_name, payload)
    return guid


def create_job(api: httpx.Client, process: str, **fields: object) -> dict[str, object]:
    response = api.post("/api/job/create", json={"Process": process, **fields})
    assert response.status_code == 200, response.text
    return dict(response.json())
