"""Refused requests answer one JSON body that names the problem in the caller's spelling, and
change nothing."""

from __future__ import annotations

import httpx

from tests.service.conftest import Service, Tenant

SHAPE = {"timestamp", "status", "error", "code", "message", "path", "details"}


def refused(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == SHAPE
    assert (body["status"], body["code"], body["path"]) == (status, code, response.url.path)
    return body


def queue_names(tenant: Tenant) -> list[str]:
    return [q["name"] for q in tenant.api.get("/api/queue/list").json()]


def test_each_bad_field_is_a_detail_named_as_the_caller_spelled_it(tenant: Tenant) -> None:
    body = refused(
        tenant.api.post(
            "/api/queue/create",
            json={"Name": "Q", "MaxRetries": 101, "LeaseSeconds": "soon", "Colour": "red"},
        ),
        422,
        "invalid_input",
    )
    details = {d["field"]: d["problem"] for d in body["details"]}  # type: ignore[attr-defined]
    assert set(details) == {"MaxRetries", "LeaseSeconds", "Colour"}
    assert "100" in details["MaxRetries"]
    assert "(got 'soon')" in details["LeaseSeconds"]
    assert details["Colour"].startswith("is not a field")
    assert queue_names(tenant) == []


def test_form_bodies_are_judged_like_json(tenant: Tenant) -> None:
    body = refused(
        tenant.api.post("/api/queue/create", data={"name": "Q", "max_retries": "-1"}),
        422,
        "invalid_input",
    )
    assert [d["field"] for d in body["details"]] == ["MaxRetries"]  # type: ignore[attr-defined]
    assert queue_names(tenant) == []


def test_malformed_json_and_bad_references(tenant: Tenant) -> None:
    refused(
        tenant.api.post(
            "/api/queue/create", content=b"{", headers={"content-type": "application/json"}
        ),
        400,
        "malformed_request",
    )
    missing = refused(
        tenant.api.post("/api/task/create", json={"Queue": "nowhere", "Name": "t"}),
        404,
        "not_found",
    )
    assert "nowhere" in str(missing["message"])


def test_unknown_operations_methods_and_credentials(service: Service, tenant: Tenant) -> None:
    refused(tenant.api.get("/api/queue/nothing"), 404, "no_such_operation")
    refused(tenant.api.get("/api/queue/create"), 405, "method_not_allowed")
    with service.client() as anonymous:
        refused(anonymous.get("/api/queue/list"), 401, "missing_credentials")
    with service.client(Key="00000000-0000-0000-0000-000000000000") as stranger:
        assert stranger.get("/api/queue/list").status_code == 401
