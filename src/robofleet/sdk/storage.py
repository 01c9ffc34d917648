"""Files in Robofleet's Storage tab, from a job script (standard library only).

    from robofleet.sdk import storage

    storage.upload("Invoices/2026", "out/report.pdf")        # streamed, any size
    storage.download("Invoices/2026", "report.pdf", "in/report.pdf")
    storage.write_text("State", "last-run.txt", "2026-12-02")
    storage.read_text("State", "last-run.txt")

A folder is named by its path from the root (`a/b`), its id or GUID; "" is the root. Bytes
go through `http.client` in 1 MiB blocks both ways, so a file's size does not matter, and a
download is checked against the SHA-256 the server sends.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any, BinaryIO

from robofleet.contract import Api
from robofleet.sdk.http import RobofleetError, _headers, answered, servers

BLOCK = 1024 * 1024
TIMEOUT = 300.0


def _connection() -> tuple[http.client.HTTPConnection, str]:
    """A connection to the first server that accepts one (ROBOFLEET_SERVER may list several;
    a transfer is not repeated elsewhere once begun)."""
    urls = servers()
    for index, server in enumerate(urls):
        parts = urllib.parse.urlsplit(server)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = kind(parts.hostname or "", parts.port, timeout=TIMEOUT, blocksize=BLOCK)
        try:
            connection.connect()
        except OSError:
            connection.close()
            if index == len(urls) - 1:
                raise
            continue
        answered(server)
        return connection, parts.path.rstrip("/")
    raise AssertionError("unreachable")


def _ref(folder: str | None, name: str) -> str:
    """The file's path reference, each part escaped for the URL."""
    parts = [p for p in (folder or "").strip("/").split("/") if p] + [name]
    return "/".join(urllib.parse.quote(part, safe="") for part in parts)


def _failure(response: http.client.HTTPResponse) -> RobofleetError:
    try:
        body = json.loads(response.read() or b"{}")
    except ValueError:
        body = {}
    return RobofleetError(
        response.status,
        str(body.get("code", "http_error")),
        str(body.get("message", response.reason)),
    )


def _send(source: BinaryIO, size: int, folder: str | None, name: str) -> dict[str, Any]:
    connection, base = _connection()
    query = urllib.parse.urlencode({"name": name, "folder": folder or ""})
    headers = {
        **_headers(),
        "Content-Type": "application/octet-stream",
        "Content-Length": str(size),
    }
    try:
        connection.request("PUT", f"{base}{Api.FILES_UPLOAD}?{query}", source, headers)
        response = connection.getresponse()
        if response.status != 200:
            raise _failure(response)
        row: dict[str, Any] = json.loads(response.read())
        return row
    finally:
        connection.close()


def upload(
    folder: str | None, path: str | os.PathLike[str], name: str | None = None
) -> dict[str, Any]:
    """Upload a local file into `folder` (created or replaced); answers the file's row."""
    local = Path(path)
    with local.open("rb") as source:
        return _send(source, local.stat().st_size, folder, name or local.name)


def write_text(folder: str | None, name: str, text: str, encoding: str = "utf-8") -> dict[str, Any]:
    data = text.encode(encoding)
    return _send(io.BytesIO(data), len(data), folder, name)


def _fetch(folder: str | None, name: str, target: BinaryIO) -> None:
    connection, base = _connection()
    url = base + Api.FILES_DOWNLOAD.format(ref=_ref(folder, name))
    try:
        connection.request("GET", url, headers=_headers())
        response = connection.getresponse()
        if response.status != 200:
            raise _failure(response)
        digest = hashlib.sha256()
        while block := response.read(BLOCK):
            digest.update(block)
            target.write(block)
        expected = response.getheader("X-Sha256")
        if expected and expected != digest.hexdigest():
            raise RobofleetError(0, "checksum_mismatch", f"{name}: the download was damaged")
    finally:
        connection.close()


def download(folder: str | None, name: str, path: str | os.PathLike[str]) -> Path:
    """Save a file to `path` (written to a temporary name, then renamed: never half a file)."""
    final = Path(path)
    partial = final.with_name(final.name + ".part")
    try:
        with partial.open("wb") as target:
            _fetch(folder, name, target)
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    return final


def read_text(folder: str | None, name: str, encoding: str = "utf-8") -> str:
    buffer = io.BytesIO()
    _fetch(folder, name, buffer)
    return buffer.getvalue().decode(encoding)
