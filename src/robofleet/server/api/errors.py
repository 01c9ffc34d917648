"""One error shape for every failure, a superset of the Spring-style body Roboteasy returns:

{"timestamp": 1732350000000, "status": 422, "error": "Unprocessable Entity",
 "code": "invalid_input", "message": "Name: Field required", "path": "/api/robot/create",
 "details": [{"field": "Name", "problem": "Field required"}]}
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from robofleet.server.db.connection_slots import SlotTimeout
from robofleet.server.db.group_writer import GroupFailed
from robofleet.server.domain.errors import (
    FieldProblem,
    RobofleetError,
    status_of,
)
from robofleet.server.schemas.base import field_label, invalid_input, problem_text

log = logging.getLogger("robofleet.api")
ROBOCORP_PREFIX = "/robocorp/"


def error_body(
    status: int, code: str, message: str, path: str, details: list[FieldProblem] | None = None
) -> dict[str, Any]:
    return {
        "timestamp": int(time.time() * 1000),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "code": code,
        "message": message,
        "path": path,
        "details": [{"field": d.field, "problem": d.problem} for d in details or []],
    }


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[FieldProblem] | None = None,
) -> JSONResponse:
    if status == 422 and request.url.path.startswith(ROBOCORP_PREFIX):
        # The Robocorp libraries retry a 422 for seconds before they give up: bad input there
        # is a 400, which they report at once.
        status = 400
    headers = {"WWW-Authenticate": 'Bearer realm="robofleet"'} if status == 401 else None
    return JSONResponse(
        error_body(status, code, message, request.url.path, details),
        status_code=status,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        reason = next(e for e in errors if e.get("type") == "json_invalid")
        detail = reason.get("ctx", {}).get("error", "")
        return error_response(
            request,
            400,
            "malformed_request",
            f"the body is not valid JSON ({detail}); send a JSON object or a form-encoded body",
        )
    details = [FieldProblem(field_label(tuple(e.get("loc", ()))), problem_text(e)) for e in errors]
    message = "; ".join(f"{d.field}: {d.problem}" for d in details)
    return error_response(request, 422, "invalid_input", message, details)


async def _model_error(request: Request, exc: Exception) -> JSONResponse:
    """A model validated inside a service: still the caller's bad input, never a 500."""
    assert isinstance(exc, ValidationError)
    error = invalid_input(exc)
    return error_response(request, 422, error.code, error.message, error.details)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RobofleetError)
    response = error_response(request, status_of(exc), exc.code, exc.message, exc.details)
    response.headers.update(exc.headers)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    page = getattr(request.app.state, "not_found_page", None)
    if exc.status_code == 404 and page is not None and _browser_page(request):
        answer: Response = page(request)
        return answer
    messages = {
        404: f"no operation at {request.url.path}; see /docs for the API",
        405: f"{request.method} is not allowed on {request.url.path}",
        413: "the request body is too large",
    }
    message = messages.get(exc.status_code) or str(exc.detail)
    code = {404: "no_such_operation", 405: "method_not_allowed", 413: "body_too_large"}.get(
        exc.status_code, "http_error"
    )
    response = error_response(request, exc.status_code, code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


def _browser_page(request: Request) -> bool:
    """A browser asking for a page outside the APIs (a mistyped or stale link): it gets the
    web application's HTML 404, API clients keep the JSON one."""
    path = request.url.path
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not path.startswith(("/api/", "/robocorp/"))
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's 405 names only the methods of
    the first route whose path matched, so a path served by two routes (GET and POST of
    /api/log/list) answered a wrong Allow."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "\0"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    if isinstance(getattr(exc, "orig", None), SlotTimeout):
        # Every connection of the lean pool stayed busy for its whole wait: under a load the
        # server cannot keep up with, far more often than a database that stopped answering.
        message = (
            "no database connection was free in time (the server is overloaded, or its "
            "database slow to answer); retry the request"
        )
    else:
        message = "the database could not be reached; retry the request"
    return error_response(request, 503, "database_unavailable", message)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(
        request, 500, "internal_error", "the server failed unexpectedly; the error is in its log"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RobofleetError, _domain_error)
    app.add_exception_handler(ValidationError, _model_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(GroupFailed, _database_down)  # a shared commit failed
    app.add_exception_handler(Exception, _unexpected)


LOGIN_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many failed logins for this login name from this address, or from "
        "this address (services.access.login_limits); nothing was checked. Try again after "
        "`Retry-After` seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
}
"""The answer every password login documents (the API's, Roboteasy's and the web's share it)."""
