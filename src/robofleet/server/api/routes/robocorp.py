"""The Robocorp Control Room API subset under /robocorp (services.robocorp; docs/robocorp.md).

Handlers read raw bodies (the libraries send JSON content type even on empty bodies) and
answer bad input with 400, never 422, which the libraries retry for seconds. Not in the
OpenAPI document: the callers are the Robocorp libraries, whose paths are fixed.
"""

from __future__ import annotations

from typing import Annotated, Any, BinaryIO, cast

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import UploadFile

from robofleet.contract import ROBOCORP_API_PATH
from robofleet.server.api.deps import RuntimeDep
from robofleet.server.api.streams import consume_body
from robofleet.server.domain.errors import MalformedRequest
from robofleet.server.services.robocorp import assets, vault, workitems
from robofleet.server.services.robocorp.context import Call
from robofleet.server.services.storage.content import Incoming

PREFIX = ROBOCORP_API_PATH
W = "/json-v1/workspaces/{ws}/workitems/{item}"
P = "/process-v1/workspaces/{ws}/processes/{pid}"
RUN = P + "/runs/{run}/robotRuns/{step}"
S = "/secrets-v1/workspaces/{ws}/secrets"
A = "/v1/workspaces/{ws}/assets"

router = APIRouter(prefix=PREFIX, include_in_schema=False, tags=["Robocorp"])
upload_router = APIRouter(prefix=PREFIX + "/signed", include_in_schema=False, tags=["Robocorp"])
AuthHeader = Annotated[str | None, Header(alias="Authorization")]
OK: dict[str, Any] = {}


def _call(request: Request, authorization: str | None, ws: str) -> Call:
    return Call(authorization, ws, str(request.base_url))


# --- work items (W) -------------------------------------------------------------------------


@router.get(W + "/data")
async def get_payload(
    request: Request, ws: str, item: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    return await run_in_threadpool(
        workitems.read_payload, runtime, _call(request, authorization, ws), item
    )


@router.put(W + "/data")
async def put_payload(
    request: Request, ws: str, item: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    body = await request.body()
    await run_in_threadpool(
        workitems.save_payload, runtime, _call(request, authorization, ws), item, body
    )
    return OK


@router.get(W + "/files")
async def get_files(
    request: Request, ws: str, item: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    return await run_in_threadpool(
        workitems.list_files, runtime, _call(request, authorization, ws), item
    )


@router.post(W + "/files")
async def post_file(
    request: Request, ws: str, item: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    body = await request.body()
    return await run_in_threadpool(
        workitems.start_file_upload, runtime, _call(request, authorization, ws), item, body
    )


@router.get(W + "/files/{file}")
async def get_file(
    request: Request,
    ws: str,
    item: str,
    file: str,
    runtime: RuntimeDep,
    authorization: AuthHeader = None,
) -> Any:
    return await run_in_threadpool(
        workitems.file_url, runtime, _call(request, authorization, ws), item, file
    )


@router.delete(W + "/files/{file}")
async def delete_file(
    request: Request,
    ws: str,
    item: str,
    file: str,
    runtime: RuntimeDep,
    authorization: AuthHeader = None,
) -> Any:
    await run_in_threadpool(
        workitems.delete_file, runtime, _call(request, authorization, ws), item, file
    )
    return OK


# --- process runs (P) -------------------------------------------------------------------------


@router.post(RUN + "/reserve-next-work-item")
async def reserve_next(
    request: Request,
    ws: str,
    pid: str,
    run: str,
    step: str,
    runtime: RuntimeDep,
    authorization: AuthHeader = None,
) -> Any:
    return await run_in_threadpool(
        workitems.reserve_next, runtime, _call(request, authorization, ws), pid, run, step
    )


@router.post(RUN + "/release-work-item")
async def release(
    request: Request,
    ws: str,
    pid: str,
    run: str,
    step: str,
    runtime: RuntimeDep,
    authorization: AuthHeader = None,
) -> Any:
    body = await request.body()
    call = _call(request, authorization, ws)
    await run_in_threadpool(workitems.release, runtime, call, pid, run, step, body)
    return OK


@router.post(P + "/work-items/{parent}/output")
async def create_output(
    request: Request,
    ws: str,
    pid: str,
    parent: str,
    runtime: RuntimeDep,
    authorization: AuthHeader = None,
) -> Any:
    body = await request.body()
    call = _call(request, authorization, ws)
    return await run_in_threadpool(workitems.create_output, runtime, call, pid, parent, body)


# --- vault (S) --------------------------------------------------------------------------------


@router.get(S + "/publicKey")
async def public_key(ws: str, runtime: RuntimeDep) -> PlainTextResponse:
    """Raw base64 of the DER key (the client b64decodes the body). Public: no token."""
    return PlainTextResponse(await run_in_threadpool(vault.public_key, runtime))


@router.get(S + "/{name:path}")
async def get_secret(
    request: Request,
    ws: str,
    name: str,
    runtime: RuntimeDep,
    authorization: AuthHeader = None,
    encryption_scheme: Annotated[str | None, Query(alias="encryptionScheme")] = None,
    public_key: Annotated[str | None, Query(alias="publicKey")] = None,
) -> Any:
    call = _call(request, authorization, ws)
    return await run_in_threadpool(
        vault.read_secret, runtime, call, name, encryption_scheme, public_key
    )


@router.put(S + "/{name:path}")
async def put_secret(
    request: Request, ws: str, name: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    body = await request.body()
    await run_in_threadpool(
        vault.write_secret, runtime, _call(request, authorization, ws), name, body
    )
    return OK


# --- assets (A); robocorp-storage ends most paths with a slash ------------------------------


@router.get(A + "/")
@router.get(A)
async def list_assets(
    request: Request, ws: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    return await run_in_threadpool(assets.list_assets, runtime, _call(request, authorization, ws))


@router.post(A + "/")
@router.post(A)
async def create_asset(
    request: Request, ws: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    body = await request.body()
    return await run_in_threadpool(
        assets.create_asset, runtime, _call(request, authorization, ws), body
    )


@router.post(A + "/{asset}/uploads/")
@router.post(A + "/{asset}/uploads")
async def start_upload(
    request: Request, ws: str, asset: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    body = await request.body()
    call = _call(request, authorization, ws)
    return await run_in_threadpool(assets.start_upload, runtime, call, asset, body)


@router.get(A + "/{asset}/uploads/{upload}/")
@router.get(A + "/{asset}/uploads/{upload}")
async def upload_status(
    request: Request,
    ws: str,
    asset: str,
    upload: str,
    runtime: RuntimeDep,
    authorization: AuthHeader = None,
) -> Any:
    call = _call(request, authorization, ws)
    return await run_in_threadpool(assets.upload_status, runtime, call, asset, upload)


@router.get(A + "/{ref:path}")
async def read_asset(
    request: Request, ws: str, ref: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    call = _call(request, authorization, ws)
    return await run_in_threadpool(assets.read_asset, runtime, call, ref.rstrip("/"))


@router.delete(A + "/{ref:path}")
async def delete_asset(
    request: Request, ws: str, ref: str, runtime: RuntimeDep, authorization: AuthHeader = None
) -> Any:
    call = _call(request, authorization, ws)
    await run_in_threadpool(assets.delete_asset, runtime, call, ref.rstrip("/"))
    return OK


# --- the signed upload URLs (no Authorization) ---------------------------------------------

Expires = Annotated[int, Query()]
Signature = Annotated[str, Query()]


@upload_router.post("/work-item-files/{item}")
async def item_file_upload(
    request: Request,
    item: str,
    name: Annotated[str, Query()],
    expires: Expires,
    signature: Signature,
    runtime: RuntimeDep,
) -> Response:
    """The S3-style presigned POST: multipart, the file in the part named `file`."""
    form = await request.form()
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise MalformedRequest("send the file as the multipart part named 'file'")
    incoming = Incoming(part.file, part.filename, part.content_type)
    await run_in_threadpool(
        workitems.finish_file_upload, runtime, item, name, expires, signature, incoming
    )
    return Response(status_code=204)


@upload_router.put("/asset-uploads/{asset}")
async def asset_upload(
    request: Request,
    asset: str,
    content_type: Annotated[str, Query()],
    expires: Expires,
    signature: Signature,
    runtime: RuntimeDep,
) -> JSONResponse:
    await consume_body(
        request.stream(),
        lambda reader: assets.finish_upload(
            runtime, asset, content_type, expires, signature, Incoming(cast(BinaryIO, reader))
        ),
    )
    return JSONResponse(OK)
