"""Signed URLs on every blob store: a GET or PUT of one file without other credentials,
refused (403) when changed or expired."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from tests.acceptance.conftest import Tenant
from tests.acceptance.storage.test_files import PDF, create_multipart


def sign(api: httpx.Client, file: str, **fields: object) -> dict[str, object]:
    response = api.post("/api/files/sign", json={"File": file, **fields})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_signed_get_downloads_one_file_without_credentials(tenant: Tenant) -> None:
    guid = create_multipart(tenant.api, "signed.pdf", PDF)
    signed = sign(tenant.api, guid, ExpiresIn=600)
    assert signed["method"] == "GET"
    assert int(str(signed["expires_at"])) > time.time()
    url = str(signed["url"])
    assert url.startswith(tenant.server.url)
    anonymous = httpx.get(url)
    assert anonymous.status_code == 200
    assert anonymous.content == PDF
    ranged = httpx.get(url, headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206
    assert ranged.content == PDF[:4]
    # The same URL does not upload.
    assert httpx.put(url, content=b"x").status_code == 403
    # By path, as a robot names its files.
    assert httpx.get(str(sign(tenant.api, "signed.pdf")["url"])).content == PDF


def test_a_signed_put_replaces_that_file_only(tenant: Tenant) -> None:
    guid = create_multipart(tenant.api, "target.pdf", PDF)
    signed = sign(tenant.api, guid, Method="put", ExpiresIn=60)
    assert signed["method"] == "PUT"
    new = b"replaced through a signed URL"
    response = httpx.put(str(signed["url"]), content=new, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text
    row = tenant.api.get(f"/api/files/read/{guid}").json()
    assert row["sha256"] == hashlib.sha256(new).hexdigest()
    assert row["content_type"] == "text/plain"
    assert tenant.api.get(row["url"]).content == new
    assert httpx.get(str(signed["url"])).status_code == 403  # a PUT URL does not download


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())))


def test_changed_or_expired_urls_are_refused(tenant: Tenant) -> None:
    guid = create_multipart(tenant.api, "guarded.pdf", PDF)
    other = create_multipart(tenant.api, "other.pdf", PDF)
    url = str(sign(tenant.api, guid, ExpiresIn=60)["url"])
    later = str(int(parse_qs(urlsplit(url).query)["expires"][0]) + 3600)
    for changed in (
        _with(url, expires=later),
        _with(url, signature="0" * 64),
        url.replace(guid, other),
    ):
        refused = httpx.get(changed)
        assert refused.status_code == 403, changed
        assert refused.json()["code"] == "signature_invalid"
        assert "changed" in refused.json()["message"]

    short = str(sign(tenant.api, guid, ExpiresIn=1)["url"])
    expires = int(parse_qs(urlsplit(short).query)["expires"][0])
    while time.time() < expires + 0.2:
        time.sleep(0.2)
    expired = httpx.get(short)
    assert expired.status_code == 403
    assert expired.json()["code"] == "signature_expired"

    too_long = tenant.api.post("/api/files/sign", json={"File": guid, "ExpiresIn": 8 * 86400})
    assert too_long.status_code == 422
    assert (
        tenant.api.post("/api/files/sign", json={"File": guid, "Method": "DELETE"}).status_code
        == 422
    )
    assert httpx.get(_with(url, expires="x")).status_code == 422


def test_a_deleted_file_is_gone_for_its_signed_url(tenant: Tenant) -> None:
    guid = create_multipart(tenant.api, "gone.pdf", PDF)
    url = str(sign(tenant.api, guid)["url"])
    tenant.api.delete(f"/api/files/delete/{guid}")
    assert httpx.get(url).status_code == 404
