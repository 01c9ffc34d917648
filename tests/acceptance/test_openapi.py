"""Swagger at /docs and an OpenAPI document with every operation, schema and example."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from tests.support.server import ServerProcess

SEED_TABS = [
    "API Key",
    "Robot",
    "Robot Groups",
    "Process",
    "Process Version",
    "Job",
    "Queue",
    "Task",
    "Trigger",
    "Resource",
    "Storage",
    "Log",
    "Account",
]


JSON_ONLY = {"/api/task/bulkCreate", "/api/log/batch"}
"""Bodies whose required field is a list of objects: no form can carry them."""


def document(server: ServerProcess) -> dict[str, Any]:
    with server.client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, item in doc["paths"].items() for method, op in item.items()
    ]


def test_swagger_ui_is_served(server: ServerProcess) -> None:
    with server.client() as client:
        page = client.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui" in page.text.lower()


def test_document_is_valid_openapi(server: ServerProcess) -> None:
    validate(document(server))


def test_tags_follow_the_seed_order(server: ServerProcess) -> None:
    names = [tag["name"] for tag in document(server)["tags"]]
    assert names[: len(SEED_TABS)] == SEED_TABS


def test_every_operation_is_tagged_and_described(server: ServerProcess) -> None:
    doc = document(server)
    tags = {tag["name"] for tag in doc["tags"]}
    ids = set()
    for path, method, op in operations(doc):
        assert op.get("tags") and op["tags"][0] in tags, (method, path)
        assert op.get("summary"), (method, path)
        assert op["operationId"] not in ids
        ids.add(op["operationId"])
        ok = op["responses"].get("200")
        assert ok is not None, (method, path)
        for media in ok.get("content", {}).values():
            assert "schema" in media, (method, path)
            assert "example" in media or "examples" in media, (method, path)


def test_every_body_has_a_schema_and_an_example_in_both_encodings(server: ServerProcess) -> None:
    for path, method, op in operations(document(server)):
        body = op.get("requestBody")
        if not body:
            continue
        content = body["content"]
        assert content, (method, path)
        for media in content.values():
            assert "schema" in media, (method, path)
            assert "example" in media or "examples" in media, (method, path)
        if (
            path.startswith("/api/")
            and "application/json" in content
            and "Roboteasy" not in op["tags"]
            and path not in JSON_ONLY
        ):
            forms = {"application/x-www-form-urlencoded", "multipart/form-data"}
            assert forms & set(content), (method, path)


def test_every_api_operation_declares_authentication(server: ServerProcess) -> None:
    open_paths = {"/api/user/login", "/api/user/auth", "/api/user/v2/auth"}
    open_paths.add("/api/files/signed/{guid}")  # the URL's signature is its credential
    for path, method, op in operations(document(server)):
        if path.startswith("/api/") and path not in open_paths:
            schemes = {name for entry in op.get("security", []) for name in entry}
            assert {"Key", "Authorization"} <= schemes, (method, path)
