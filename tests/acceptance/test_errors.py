"""Bad input gets a 4xx in one JSON shape that names the problem, and changes nothing."""

from __future__ import annotations

import uuid

import httpx

from tests.acceptance.conftest import Tenant

SHAPE = {"timestamp", "status", "error", "code", "message", "path", "details"}


def roles(tenant: Tenant) -> list[str]:
    return sorted(r["name"] for r in tenant.api.get("/api/role/read").json())


def check(response: httpx.Response, status: int, code: str) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == SHAPE
    assert body["status"] == status
    assert body["code"] == code
    assert body["path"] == response.request.url.path
    return body  # type: ignore[no-any-return]


def test_unknown_field(tenant: Tenant) -> None:
    before = roles(tenant)
    body = check(
        tenant.api.post("/api/role/create", json={"Name": "X", "Colour": "red"}),
        422,
        "invalid_input",
    )
    assert body["details"] == [{"field": "Colour", "problem": body["details"][0]["problem"]}]
    assert "not a field" in body["message"]
    assert roles(tenant) == before


def test_wrong_type_and_missing_field(tenant: Tenant) -> None:
    before = roles(tenant)
    body = check(tenant.api.post("/api/role/create", json={"Name": ["a"]}), 422, "invalid_input")
    assert body["details"][0]["field"] == "Name"
    body = check(tenant.api.post("/api/role/create", json={}), 422, "invalid_input")
    assert body["details"] == [{"field": "Name", "problem": "is required"}]
    body = check(
        tenant.api.post("/api/user/create", json={"Login": "x", "Password": "short"}),
        422,
        "invalid_input",
    )
    assert body["details"][0]["field"] == "Password"
    assert "8 characters" in body["message"]
    assert roles(tenant) == before


def test_malformed_json(tenant: Tenant) -> None:
    response = tenant.api.post(
        "/api/role/create", content=b'{"Name": ', headers={"content-type": "application/json"}
    )
    body = check(response, 400, "malformed_request")
    assert "JSON" in body["message"]


def test_oversized_body(tenant: Tenant) -> None:
    before = roles(tenant)
    huge = "x" * (17 * 1024 * 1024)
    response = tenant.api.post("/api/role/create", json={"Name": "Big", "Description": huge})
    body = check(response, 413, "body_too_large")
    assert "bytes" in body["message"]
    assert roles(tenant) == before


def test_not_found_conflict_and_unknown_operation(tenant: Tenant) -> None:
    missing = str(uuid.uuid4())
    body = check(tenant.api.get(f"/api/role/read/{missing}"), 404, "not_found")
    assert missing in body["message"]
    tenant.api.post("/api/role/create", json={"Name": "Twice"})
    body = check(tenant.api.post("/api/role/create", json={"Name": "Twice"}), 409, "name_taken")
    assert "Twice" in body["message"]
    check(tenant.api.get("/api/nothing/here"), 404, "no_such_operation")
    check(tenant.api.get("/api/role/create"), 405, "method_not_allowed")


def test_same_field_twice_in_two_spellings(tenant: Tenant) -> None:
    body = check(
        tenant.api.post("/api/role/create", json={"Name": "A", "name": "B"}), 422, "invalid_input"
    )
    assert "twice" in body["message"]


def test_unauthenticated_and_forbidden_shapes(tenant: Tenant) -> None:
    with tenant.client() as anonymous:
        check(anonymous.get("/api/role/read"), 401, "missing_credentials")
    check(
        tenant.api.post(
            "/api/account/create", json={"Login": "nope-nope", "Password": "password-1"}
        ),
        403,
        "not_account_manager",
    )
