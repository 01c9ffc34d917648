"""The route class every Sherpa-style router uses.

Sherpa's own Python examples post form-encoded bodies; its reference shows JSON. Here a
form-encoded (or empty) body is turned into JSON before FastAPI parses it, so one pydantic
model per operation covers both encodings and shows in OpenAPI under both media types.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from robofleet.server.domain.errors import FieldProblem, InvalidInput, MalformedRequest
from robofleet.server.domain.values import NUL_PROBLEM
from robofleet.server.schemas.base import field_label

FORM = "application/x-www-form-urlencoded"
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _form_to_json(raw: bytes) -> bytes:
    return orjson.dumps(form_fields(raw))


def form_fields(raw: bytes) -> dict[str, Any]:
    """A form body's fields: `key[]` and a repeated key make a list."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise MalformedRequest("the form body is not UTF-8 text") from None
    fields: dict[str, Any] = {}
    for key, value in pairs:
        name = key.removesuffix("[]")
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = [value] if key.endswith("[]") else value
    return fields


async def _as_json_request(request: Request, *, body_required: bool) -> Request:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method not in _BODY_METHODS or content_type.startswith("multipart/"):
        return request
    raw = await request.body()
    if content_type == FORM and raw.strip():
        body = _form_to_json(raw)
    elif not raw.strip() and body_required:
        # An empty body is an empty object, so a missing field is named in the error.
        body = b"{}"
    else:
        return request
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
    headers.append((b"content-type", b"application/json"))
    scope = {**request.scope, "headers": headers}
    rewritten = Request(scope, request.receive)
    rewritten._body = body
    return rewritten


async def get_body_fields(request: Request) -> dict[str, Any]:
    """The fields of a form or JSON body sent with a GET. Sherpa's Python examples send
    every call's fields as `requests.request(method, url, data=payload)`, GET included, so a
    GET that documents fields reads them from the body too ({} when there is none)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if not raw.strip() or content_type not in (FORM, "application/json"):
        return {}
    if content_type == FORM:
        fields: dict[str, Any] = orjson.loads(_form_to_json(raw))
        return fields
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"the body is not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise InvalidInput("the body must be a JSON object of fields")
    return parsed


def _refuse_unstorable_params(request: Request) -> None:
    """Path and query values obey the bodies' rule (domain.values): a NUL byte is refused
    here, naming the parameter, before any store sees it. (Query models check their
    fields themselves; this also covers plain path parameters.)"""
    params = [*request.path_params.items(), *request.query_params.multi_items()]
    names = dict.fromkeys(
        field_label((name,)) for name, value in params if isinstance(value, str) and "\x00" in value
    )
    if names:
        details = [FieldProblem(name, NUL_PROBLEM) for name in names]
        raise InvalidInput("; ".join(f"{d.field}: {d.problem}" for d in details), details=details)


class SherpaRoute(APIRoute):
    """Accepts JSON, form-encoded and empty bodies for the same operation."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.body_field is not None and not self._is_multipart():
            extra = dict(self.openapi_extra or {})
            extra.setdefault("x-robofleet-form", True)
            self.openapi_extra = extra

    def _is_multipart(self) -> bool:
        from fastapi import params

        return isinstance(self.body_field.field_info, params.Form) if self.body_field else False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        body_required = self.body_field is not None and self.body_field.field_info.is_required()

        async def route(request: Request) -> Response:
            _refuse_unstorable_params(request)
            return await handler(await _as_json_request(request, body_required=body_required))

        return route


def sherpa_router(tag: str, **kwargs: Any) -> APIRouter:
    return APIRouter(tags=[tag], route_class=SherpaRoute, **kwargs)


class RawBodyRoute(APIRoute):
    """A route whose body is a file's bytes, read as a stream by the handler: SherpaRoute
    would read the whole body into memory first (to turn a form into JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            _refuse_unstorable_params(request)
            return await handler(request)

        return route


def raw_body_router(tag: str, **kwargs: Any) -> APIRouter:
    return APIRouter(tags=[tag], route_class=RawBodyRoute, **kwargs)


class ModelResponse(Response):
    """A response rendered straight from the model the service returned.

    FastAPI re-validates a returned model against the declared response model; on the hot
    robot paths that doubled the work. Routes that return this still declare their model
    (`response_model=`) for OpenAPI."""

    media_type = "application/json"

    def __init__(self, model: BaseModel, status_code: int = 200) -> None:
        super().__init__(model.model_dump_json(by_alias=True), status_code=status_code)
