"""The OpenAPI document: tags in the seed's order, both body encodings, an example per body."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from robofleet.server.api.routing import FORM

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
]


def operation_id(route: APIRoute) -> str:
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag.replace(' ', '')}-{route.name}"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _resolve(components.get(ref.rsplit("/", 1)[-1], {}), components)
    return schema


def _placeholder(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    schema = _resolve(schema, components)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if depth > 4:
        return None
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        if _resolve(option, components).get("type") != "null":
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
    components = document.get("components", {}).get("schemas", {})
    seen_ids: set[str] = set()
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            # One route serving several methods (Sherpa's POST-or-PUT) needs an id per method.
            if operation.get("operationId") in seen_ids:
                operation["operationId"] = f"{operation['operationId']}-{method}"
            seen_ids.add(operation.get("operationId", ""))
            body = operation.get("requestBody")
            if body and operation.pop("x-robofleet-form", False):
                json_media = body["content"].get("application/json")
                if json_media:
                    body["content"][FORM] = {"schema": json_media["schema"]}
            if body:
                _fill_examples(body.get("content", {}), components)
            for response in operation.get("responses", {}).values():
                _fill_examples(response.get("content", {}), components)
    app.openapi_schema = document
    return document
