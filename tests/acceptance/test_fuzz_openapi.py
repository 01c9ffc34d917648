"""The OpenAPI document tells the truth (issue 8, defect 9): every status an operation
answers is documented with the one error shape, reference and time fields say what the
server accepts, and a 405 names every method of its path. (tests/test_fuzz_schemathesis.py
checks all of it against every operation; these are the quick, readable cases.)"""

from __future__ import annotations

from typing import Any

import jsonschema

from tests.acceptance.conftest import Tenant
from tests.support.server import ServerProcess


def document(server: ServerProcess) -> dict[str, Any]:
    with server.client() as client:
        return dict(client.get("/openapi.json").json())


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    root = {**schema, "components": doc["components"]}
    return jsonschema.Draft202012Validator(root)


def schema_of(doc: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    content = doc["paths"][path][method]["responses"][status]["content"]
    return dict(content["application/json"]["schema"])


def test_error_answers_are_documented_with_their_shape(server: ServerProcess) -> None:
    doc = document(server)
    cases = [
        ("/api/job/read/{guid}", "get", "/api/job/read/00000000-0000-0000-0000-000000000000", {}),
        ("/api/queue/list", "get", "/api/queue/list", {"Key": "not-a-key"}),
        ("/api/robot/create", "post", "/api/robot/create", {}),
    ]
    with server.client() as client:
        for path, method, url, headers in cases:
            if method == "get":
                response = client.get(url, headers=headers)
            else:
                response = client.post(url, json={}, headers=headers)
            status = str(response.status_code)
            assert status in {"401", "404", "422"}, (url, response.text)
            documented = doc["paths"][path][method]["responses"]
            assert status in documented, (path, status, sorted(documented))
            validator(doc, schema_of(doc, path, method, status)).validate(response.json())


def test_every_operation_documents_its_failures(server: ServerProcess) -> None:
    doc = document(server)
    for path, item in doc["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in item.items():
            answers = set(op["responses"])
            assert {"404", "422", "503"} <= answers, (method, path)
            if op.get("security"):
                assert {"401", "403"} <= answers, (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= answers, (method, path)
            if method != "get":
                assert "409" in answers, (method, path)


def test_references_and_times_say_what_is_accepted(server: ServerProcess) -> None:
    doc = document(server)
    robot = doc["components"]["schemas"]["RobotSetStatus"]["properties"]["Guid"]
    check = validator(doc, robot)
    assert check.is_valid("invoice-bot") and check.is_valid(7)
    assert not check.is_valid("") and not check.is_valid("   ")
    deadline = doc["components"]["schemas"]["TaskCreate"]["properties"]["Deadline"]
    check = validator(doc, deadline)
    assert check.is_valid("2026-01-31T17:00:00Z") and check.is_valid(1769878800)
    assert not check.is_valid("soon") and not check.is_valid(1e20)


def test_a_refused_method_names_every_method_of_its_path(tenant: Tenant) -> None:
    for path, methods in [
        ("/api/log/list", {"GET", "POST"}),
        ("/api/integration/v1/run/robot/process", {"GET", "POST"}),
        ("/api/job/list", {"GET"}),
    ]:
        response = tenant.api.request("OPTIONS", path)
        assert response.status_code == 405
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == methods, path
