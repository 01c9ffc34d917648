"""Storage tab: files (`/api/files/*`), their downloads, streamed uploads and signed URLs."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, BinaryIO, cast

from fastapi import Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.downloads import BINARY, DOWNLOAD_RESPONSES, RANGE_DOC, streamed
from robofleet.server.api.routing import raw_body_router, sherpa_router
from robofleet.server.api.streams import BodyReader, consume_body
from robofleet.server.api.uploads import read_upload_part
from robofleet.server.schemas.storage import (
    FileCreate,
    FileFilter,
    FileRead,
    FileSign,
    FileUpdate,
    FileUpload,
    SignedQuery,
    SignedUrl,
)
from robofleet.server.services.storage import files, signed
from robofleet.server.services.storage.content import Incoming

router = sherpa_router("Storage", prefix="/api/files")
streaming_router = raw_body_router("Storage", prefix="/api/files")
"""The routes whose body is a file's bytes, streamed (registered after `router`)."""


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A property as a form or multipart part can send it: never null."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if not options:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**rest, **options[0]} if len(options) == 1 else {**rest, "anyOf": options}


def _upload_doc(model: type[FileCreate] | type[FileUpdate], required: list[str]) -> dict[str, Any]:
    """Multipart with the file as a part, or JSON (and, derived from it, a form) with the
    file as text."""
    schema = model.model_json_schema(by_alias=True)
    properties = {name: _without_null(prop) for name, prop in schema["properties"].items()}
    properties["File"] = {"type": "string", "format": "binary"}
    return {
        "x-robofleet-form": True,
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": properties, "required": required}
                },
                "application/json": {"schema": {**schema, "required": required}},
            },
        },
    }


def _incoming(reader: BodyReader, request: Request) -> Incoming:
    return Incoming(cast(BinaryIO, reader), content_type=request.headers.get("content-type"))


@router.post(
    "/create",
    summary="Upload a file (multipart File, or its Base16/Base32 text)",
    openapi_extra=_upload_doc(FileCreate, ["Name"]),
)
async def create_file(
    request: Request, response: Response, runtime: RuntimeDep, caller: CallerDep
) -> list[Any]:
    """Multipart fields `Name`, `Description`, `FolderGuid` and the file `File`; or JSON/form
    with `File` as Base16 or Base32 text (`Encoding` says which when it is ambiguous).
    Answers `[]` as Sherpa does; the new file's GUID is in the `X-Guid` header and its
    address in `Location`."""
    data, part = await read_upload_part(request, FileCreate)
    upload = Incoming(part.file, part.filename, part.content_type) if part else None
    guid = await asyncio.to_thread(files.create_file, runtime, caller, data, upload)
    response.headers["X-Guid"] = guid
    response.headers["Location"] = f"/api/files/read/{guid}"
    return []


@router.get("/read/{ref:path}", summary="Read a file's row (by id, GUID or path `folder/name`)")
def read_file(ref: str, runtime: RuntimeDep, caller: CallerDep) -> FileRead:
    """The row, with `url` where its content is downloaded."""
    return files.read_file(runtime, caller, ref)


@router.get("/list", summary="List files (all, or the ones in Folder)")
def list_files(
    query: Annotated[FileFilter, Query()], runtime: RuntimeDep, caller: CallerDep
) -> list[FileRead]:
    return files.list_files(runtime, caller, query)


@router.put(
    "/update",
    summary="Rename, move, describe or replace a file",
    openapi_extra=_upload_doc(FileUpdate, []),
)
async def update_file(request: Request, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    """`Guid` names the file, `Name` renames it, `FolderGuid` moves it (empty: the root),
    `File` replaces its content. Without `Guid`, the file named `Name` in `FolderGuid` is
    the one updated (Sherpa's form)."""
    data, part = await read_upload_part(request, FileUpdate)
    upload = Incoming(part.file, part.filename, part.content_type) if part else None
    await asyncio.to_thread(files.update_file, runtime, caller, data, upload)
    return []


@router.delete("/delete/{ref:path}", summary="Delete a file")
def delete_file(ref: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    files.delete_file(runtime, caller, ref)
    return []


@router.get(
    "/download/{ref:path}",
    summary="Download a file's content (Range supported)",
    response_class=StreamingResponse,
    responses=DOWNLOAD_RESPONSES,
)
def download_file(
    ref: str,
    runtime: RuntimeDep,
    caller: CallerDep,
    range_header: Annotated[str | None, Header(alias="Range", description=RANGE_DOC)] = None,
) -> StreamingResponse:
    """Streams from the blob store; `ETag` and `X-Sha256` carry the SHA-256."""
    return streamed(files.download_file(runtime, caller, ref, range_header))


@streaming_router.put(
    "/upload",
    summary="Upload a file as the raw request body (streamed; creates or replaces)",
    openapi_extra={
        # An empty body is an empty file.
        "requestBody": {
            "required": False,
            "content": {"application/octet-stream": BINARY, "*/*": BINARY},
        }
    },
)
async def upload_file(
    request: Request,
    query: Annotated[FileUpload, Query()],
    runtime: RuntimeDep,
    caller: CallerDep,
) -> FileRead:
    """The body is the file's bytes, streamed to disk as it arrives (any size up to
    ROBOFLEET_STORAGE_MAX_UPLOAD_BYTES); `Content-Type` is kept unless it is generic."""
    return await consume_body(
        request.stream(),
        lambda reader: files.upload_file(runtime, caller, query, _incoming(reader, request)),
    )


@router.post("/sign", summary="A signed URL that downloads (GET) or replaces (PUT) one file")
def sign_file(
    body: FileSign, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> SignedUrl:
    """Anyone holding the URL may use it, without other credentials, until it expires
    (ExpiresIn seconds, at most 7 days)."""
    url = signed.sign_file(runtime, caller, body)
    return url.model_copy(update={"url": str(request.base_url).rstrip("/") + url.url})


SIGNED_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The signature does not match, or the URL has expired"},
}


@router.get(
    "/signed/{guid}",
    summary="Download through a signed URL (no other credentials)",
    response_class=StreamingResponse,
    responses={**DOWNLOAD_RESPONSES, **SIGNED_ERRORS},
)
def signed_download(
    guid: str,
    query: Annotated[SignedQuery, Query()],
    runtime: RuntimeDep,
    range_header: Annotated[str | None, Header(alias="Range", description=RANGE_DOC)] = None,
) -> StreamingResponse:
    return streamed(signed.signed_download(runtime, guid, query, range_header))


@streaming_router.put(
    "/signed/{guid}",
    summary="Replace a file's content through a signed URL (no other credentials)",
    responses=SIGNED_ERRORS,
    openapi_extra={
        # An empty body is an empty file.
        "requestBody": {
            "required": False,
            "content": {"application/octet-stream": BINARY, "*/*": BINARY},
        }
    },
)
async def signed_upload(
    guid: str, request: Request, query: Annotated[SignedQuery, Query()], runtime: RuntimeDep
) -> list[Any]:
    await consume_body(
        request.stream(),
        lambda reader: signed.signed_upload(runtime, guid, query, _incoming(reader, request)),
    )
    return []
