"""The OpenAPI document: tags in the seed's order, both body encodings, an example per body,
and every status an operation can answer, with the one error shape (api.errors)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from robofleet.server.api.openapi_fields import refine_fields, refine_parameters
from robofleet.server.api.openapi_schemas import (
    add_form,
    body_optional_when_nothing_is_required,
    query_without_null,
    request_components,
    resolve,
    storable_requests,
    time_fields,
)
from robofleet.server.api.spring_route import SPRING_ERROR_SCHEMA, document_spring_errors

TAGS: list[tuple[str, str]] = [
    ("API Key", "Assign or refresh API keys. Send a key as `Key: <key>`."),
    ("Robot", "Robots, and the protocol robots speak (heartbeat, consumeNextJob)."),
    ("Robot Groups", "Groups of robots that jobs and triggers can target."),
    ("Process", "Automation scenarios; one version of each is current."),
    ("Process Version", "Uploaded packages of a process."),
    ("Job", "Runs of a process version on a robot."),
    ("Queue", "Work queues."),
    ("Task", "Items of work in a queue, taken with a lease."),
    ("Trigger", "Schedules that create jobs."),
    ("Resource", "Shared text values, credentials and calendars."),
    ("Storage", "Folders of files."),
    ("Log", "Robot messages."),
    ("Account", "Accounts (tenants)."),
    ("User", "Users of an account, and login."),
    ("Role", "Rights per screen, and the access folders a role reaches."),
    ("Access Folder", "Folders that narrow which objects a role reaches."),
    ("Audit", "Who changed what, when, and from where."),
    ("Roboteasy", "The Roboteasy integration API."),
    ("Health", "Liveness and readiness probes."),
    ("Monitoring", "Prometheus metrics (docs/metrics.md)."),
]


def operation_id(route: APIRoute) -> str:
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag.replace(' ', '')}-{route.name}"


def _placeholder(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    schema = resolve(schema, components)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if depth > 4:
        return None
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        if resolve(option, components).get("type") != "null":
            return _placeholder(option, components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: _placeholder(prop, components, depth + 1)
            for name, prop in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [_placeholder(schema.get("items", {}), components, depth + 1)]
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-01-31T17:00:00Z"
    return {"integer": 1, "number": 1.0, "boolean": True, "string": "string"}.get(str(kind))


def _fill_examples(content: dict[str, Any], components: dict[str, Any]) -> None:
    for media in content.values():
        schema = media.get("schema")
        if schema is None or "example" in media or "examples" in media:
            continue
        media["example"] = _placeholder(schema, components)


ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "description": "Every failure, in one shape (a superset of Roboteasy's Spring body).",
    "type": "object",
    "required": ["timestamp", "status", "error", "code", "message", "path", "details"],
    "properties": {
        "timestamp": {"type": "integer", "description": "Unix time in milliseconds."},
        "status": {"type": "integer", "description": "The HTTP status again."},
        "error": {"type": "string", "description": "The status's reason phrase."},
        "code": {"type": "string", "description": "What went wrong, for programs."},
        "message": {"type": "string", "description": "What went wrong, for people."},
        "path": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "problem"],
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
SPRING_ERROR_REF = {"$ref": "#/components/schemas/SpringErrorResponse"}
LOGIN_PATHS = {"/api/user/login", "/api/user/auth", "/api/user/v2/auth"}
"""Open operations that check a password: they answer 401 and 403 too."""

ERROR_STATUSES: dict[str, str] = {
    "400": "The body is not JSON, or not a form (malformed_request).",
    "401": "No credentials, or credentials that are not valid.",
    "403": "The caller may not do this.",
    "404": "A referenced object does not exist or belongs to another account.",
    "409": "The change conflicts with the object's state or with another object.",
    "413": "The body is larger than the server accepts.",
    "422": "A field is missing or not valid; `details` names each.",
    "503": "The database cannot be reached; retry.",
}


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """What an operation can answer besides its success: every one 404 (an unknown object),
    422 and 503; with credentials 401 and 403; with a body 400 and 413; writes 409."""
    if not path.startswith("/api/"):
        return []  # the health probes document their own answers
    statuses = ["404", "422", "503"]
    if operation.get("security") or path in LOGIN_PATHS:
        statuses += ["401", "403"]
    if "requestBody" in operation:
        statuses += ["400", "413"]
    if method != "get":
        statuses.append("409")
    return sorted(set(statuses))


def _document_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status in error_statuses(path, method, operation):
        # FastAPI's own 422 names its HTTPValidationError shape, which this server never sends.
        responses[status] = {
            "description": ERROR_STATUSES[status],
            "content": {"application/json": {"schema": ERROR_REF}},
        }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=[{"name": name, "description": text} for name, text in TAGS],
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorResponse"] = ERROR_SCHEMA
    components["SpringErrorResponse"] = SPRING_ERROR_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    refine_fields(components, request_components(document, components))
    time_fields(components)
    for path, path_item in document.get("paths", {}).items():
        for operation in path_item.values():
            refine_parameters(path, operation)
    storable_requests(document, components)
    seen_ids: set[str] = set()
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            # One route serving several methods (Sherpa's POST-or-PUT) needs an id per method.
            if operation.get("operationId") in seen_ids:
                operation["operationId"] = f"{operation['operationId']}-{method}"
            seen_ids.add(operation.get("operationId", ""))
            query_without_null(operation)
            body = operation.get("requestBody")
            if body and operation.pop("x-robofleet-form", False):
                add_form(body, components)
            if body:
                body_optional_when_nothing_is_required(body, components)
                _fill_examples(body.get("content", {}), components)
            _document_errors(path, method, operation)
            spring = operation.pop("x-robofleet-spring", None)
            if spring is not None:
                document_spring_errors(operation, spring, SPRING_ERROR_REF)
            for response in operation.get("responses", {}).values():
                _fill_examples(response.get("content", {}), components)
    app.openapi_schema = document
    return document
