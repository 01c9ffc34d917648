"""The signed URLs the /robocorp API hands out: absolute (robocorp-storage fetches them with
no base), built on ROBOFLEET_PUBLIC_URL or else the request's own base URL."""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

from robofleet.server.db.audit import AuditActor
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.signing import SignedGrant
from robofleet.server.services.storage.signed import SIGNED_PATH

SIGNED_PREFIX = "/robocorp/signed"
ITEM_FILE_UPLOAD = f"{SIGNED_PREFIX}/work-item-files/"
ASSET_UPLOAD = f"{SIGNED_PREFIX}/asset-uploads/"
LIFETIME_SECONDS = 3600
SIGNED_URL_ACTOR = AuditActor(kind="signed_url", guid=None, name="signed URL", account_id=None)


def base_url(runtime: Runtime, request_base: str) -> str:
    return (runtime.settings.public_url or request_base).rstrip("/")


def download_url(runtime: Runtime, base: str, file_guid: str) -> str:
    """Storage's own signed GET of one file (services.storage.signed)."""
    grant = SignedGrant("GET", file_guid, int(time.time()) + LIFETIME_SECONDS)
    signature = runtime.storage_urls.signature(grant)
    return f"{base}{SIGNED_PATH}{file_guid}?expires={grant.expires}&signature={signature}"


def upload_url(runtime: Runtime, base: str, path: str, subject: str, extra: dict[str, str]) -> str:
    """A POST/PUT to one of our upload paths; `subject` binds the signature to its target."""
    grant = SignedGrant("PUT", subject, int(time.time()) + LIFETIME_SECONDS)
    query = {**extra, "expires": str(grant.expires)}
    query["signature"] = runtime.robocorp_urls.signature(grant)
    return f"{base}{path}{quote(subject.split(chr(10))[0], safe='')}?{urlencode(query)}"


def check_upload(runtime: Runtime, subject: str, expires: int, signature: str) -> None:
    """Forbidden (403) unless the URL was signed here for `subject` and has not expired."""
    runtime.robocorp_urls.verify(SignedGrant("PUT", subject, expires), signature, now=time.time())
