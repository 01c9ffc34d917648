"""Download routes: the streamed response and its OpenAPI description, shared."""

from __future__ import annotations

from typing import Any

from fastapi.responses import StreamingResponse

from robofleet.server.services.storage.transfer import Download

BINARY = {"schema": {"type": "string", "format": "binary"}}
RANGE_DOC = "One byte range, `bytes=0-99`, `bytes=100-` or `bytes=-100`."
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": BINARY},
        "description": "The content; `ETag` and `X-Sha256` carry its SHA-256",
    },
    206: {
        "content": {"application/octet-stream": BINARY},
        "description": "The requested range (Content-Range)",
    },
    416: {"description": "The range names no byte of the content (Content-Range: bytes */size)"},
}


def streamed(download: Download) -> StreamingResponse:
    return StreamingResponse(download.chunks, status_code=download.status, headers=download.headers)
