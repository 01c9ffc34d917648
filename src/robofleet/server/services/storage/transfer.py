"""Sending a blob: whole or one `Range`, streamed from any blob store in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from robofleet.server.db.blobs import BlobMissing, BlobStore
from robofleet.server.domain.errors import NotFound
from robofleet.server.domain.ranges import parse_range


@dataclass
class Download:
    """What a download route sends: status 200 or 206, headers, and the body in chunks."""

    status: int
    headers: dict[str, str]
    chunks: Iterator[bytes]


def content_disposition(filename: str) -> str:
    """`attachment` with the name in RFC 6266's two forms: ASCII and UTF-8."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def blob_download(
    blobs: BlobStore,
    *,
    sha256: str,
    size: int,
    content_type: str,
    filename: str,
    range_header: str | None,
    entity: str,
    ref: object,
) -> Download:
    """The blob's bytes with ETag (its SHA-256), length and disposition; `Range` gives a 206
    of one range, a range past the end a 416 (RangeNotSatisfiable)."""
    wanted = parse_range(range_header, size)
    start, end = (0, size) if wanted is None else (wanted.start, wanted.end)
    try:
        chunks = blobs.read(sha256, start, end)
    except BlobMissing:
        raise NotFound(f"content of {entity}", ref) from None
    headers = {
        "Content-Length": str(end - start),
        "Content-Type": content_type,
        "ETag": f'"{sha256}"',
        "X-Sha256": sha256,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(filename),
    }
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range(size)
    return Download(206 if wanted is not None else 200, headers, chunks)
