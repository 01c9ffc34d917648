"""The route class of Roboteasy's paths: their failures answer in Spring Boot's error body.

Roboteasy's page shows `{"timestamp", "status", "error", "message", "path"}` for a 401, and
an integration written against it may parse exactly that, so on these paths

- every failed authentication (no token, a bad or expired one, a blocked user, a failed
  login) is 401 with the message `Unauthorized`, whatever the cause;
- a body Spring's message converters could not read is 415 (no or another Content-Type)
  or 400 (not JSON, or JSON of the wrong shape), with Spring's wording.

Like Spring's filter chain, the caller is authenticated before the body is looked at, so a
request with neither a token nor a readable body is a 401. Other failures (403, 404, 409)
keep Robofleet's richer body, which is a superset of Spring's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from robofleet.server.api.deps import current_caller
from robofleet.server.domain.errors import Forbidden, Unauthenticated
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import problem_text
from robofleet.server.services.access.auth import authenticate, cached_principal
from robofleet.server.services.access.credential_forms import Credentials

SPRING_ERROR_SCHEMA: dict[str, Any] = {
    "title": "SpringErrorResponse",
    "description": "Spring Boot's error body, as Roboteasy's page shows it (no other keys).",
    "type": "object",
    "required": ["timestamp", "status", "error", "message", "path"],
    "additionalProperties": False,
    "properties": {
        "timestamp": {"type": "integer", "description": "Unix time in milliseconds."},
        "status": {"type": "integer"},
        "error": {"type": "string", "description": "The status's reason phrase."},
        "message": {"type": "string", "description": "`Unauthorized` for every 401."},
        "path": {"type": "string"},
    },
}


def document_spring_errors(
    operation: dict[str, Any], marker: dict[str, Any], error_ref: dict[str, Any]
) -> None:
    """Say in an operation's OpenAPI entry which failures come in Spring's body: 400 and
    401 always, 415 where there is a body; and that a login needs its body even though
    none of its fields is required (without one it is 400, as in Spring)."""
    if marker.get("body_required") and "requestBody" in operation:
        operation["requestBody"]["required"] = True
    responses = operation.setdefault("responses", {})
    reasons = {
        "400": "The body (or a query parameter) could not be read.",
        "401": "Not logged in, a token that is not valid, or a failed login.",
        "415": "A body without `Content-Type: application/json`.",
    }
    if "requestBody" not in operation:
        del reasons["415"]
    for status, reason in reasons.items():
        responses[status] = {
            "description": reason,
            "content": {"application/json": {"schema": error_ref}},
        }


_JSON_TYPES = ("application/json",)


def spring_error(request: Request, status: int, message: str) -> JSONResponse:
    body = {
        "timestamp": int(time.time() * 1000),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "path": request.url.path,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="robofleet"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


class _Unreadable(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


async def _check_body(request: Request, *, body_required: bool) -> None:
    """Spring's rules for an `@RequestBody`: a body without a Content-Type, or of a type
    other than JSON, is 415; no Content-Type and no body at all is no body (legal where the
    body is optional, `Required request body is missing` where it is not)."""
    content_type = request.headers.get("content-type", "").strip()
    raw = await request.body()
    if not content_type:
        if raw.strip():
            raise _Unreadable(415, "Content type '' not supported")
    elif not _is_json(content_type):
        raise _Unreadable(415, f"Content type '{content_type}' not supported")
    if body_required and not raw.strip():
        raise _Unreadable(400, "Required request body is missing")


def _validation_message(errors: Sequence[Any]) -> str:
    broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if broken is not None:
        return f"JSON parse error: {broken.get('ctx', {}).get('error', 'not valid JSON')}"
    # The JSON keys as the client wrote them (variables.0.value), not Sherpa's PascalCase.
    problems = [f"{_where(e.get('loc', ()))}: {problem_text(e)}" for e in errors]
    return "JSON parse error: " + "; ".join(problems)


def _where(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query")) or "body"


class SpringRoute(APIRoute):
    """A Roboteasy operation: authentication first, then the body, each failing in Spring's
    shape."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        # build_openapi documents this operation's 400, 401 and 415 in Spring's shape.
        required = self.body_field is not None and self.body_field.field_info.is_required()
        marker = {"body_required": required}
        self.openapi_extra = {**(self.openapi_extra or {}), "x-robofleet-spring": marker}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        secured = any(d.call is current_caller for d in self.dependant.dependencies)
        body_field = self.body_field
        has_body = body_field is not None
        body_required = body_field is not None and body_field.field_info.is_required()

        async def route(request: Request) -> Response:
            try:
                if secured:
                    await _authenticate(request)
                if has_body and request.method != "GET":
                    await _check_body(request, body_required=body_required)
                return await handler(request)
            except Unauthenticated:
                return spring_error(request, 401, "Unauthorized")
            except _Unreadable as exc:
                return spring_error(request, exc.status, exc.message)
            except RequestValidationError as exc:
                return spring_error(request, 400, _validation_message(exc.errors()))
            except ValidationError as exc:  # variables read from the query string
                return spring_error(request, 400, _validation_message(exc.errors()))
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                # FastAPI's own refusal of a body it cannot decode (not UTF-8).
                return spring_error(request, 400, f"JSON parse error: {exc.detail}")

        return route


async def _authenticate(request: Request) -> None:
    """Any failure to say who the caller is, a blocked user's token included, is a 401 here;
    the principal is cached, so the route's own dependency does not look it up again."""
    runtime: Runtime = request.app.state.runtime
    credentials = Credentials(request.headers.get("key"), request.headers.get("authorization"))
    if cached_principal(runtime, credentials) is not None:
        return
    try:
        await run_in_threadpool(authenticate, runtime, credentials)
    except Forbidden as exc:
        raise Unauthenticated(exc.message, reason=exc.code) from None
