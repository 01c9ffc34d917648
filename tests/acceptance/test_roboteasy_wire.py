"""Roboteasy's API page followed as an integrator would, with a plain HTTP client: every
answer compared literally with the page (keys and their order included)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_process, make_robot

SPRING_KEYS = ["timestamp", "status", "error", "message", "path"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def assert_spring(response: httpx.Response, status: int, message: str, path: str) -> None:
    """Spring Boot's error body as the page shows it: these five keys, in this order."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == SPRING_KEYS, body
    assert isinstance(body["timestamp"], int)
    assert abs(body["timestamp"] - time.time() * 1000) < 3_600_000
    error = {400: "Bad Request", 401: "Unauthorized", 415: "Unsupported Media Type"}[status]
    assert body == {
        "timestamp": body["timestamp"],
        "status": status,
        "error": error,
        "message": message,
        "path": path,
    }


def login_v1(tenant: Tenant, login: str | None = None, password: str | None = None) -> str:
    with tenant.client() as anonymous:
        response = anonymous.post(
            "/api/user/auth",
            json={"username": login or tenant.login, "password": b64(password or tenant.password)},
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 200, response.text
    return response.text


def claims_of(token: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    head, payload, _ = token.split(".")

    def decode(part: str) -> dict[str, Any]:
        return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))

    return head, decode(head), decode(payload)


def make_user(tenant: Tenant, password: str = "clerk-password") -> tuple[str, str]:
    created = tenant.api.post(
        "/api/user/create",
        json={
            "Login": f"clerk-{uuid.uuid4().hex[:6]}@example.com",
            "Password": password,
            "Roles": "Administrator",
        },
    )
    assert created.status_code == 200, created.text
    guid = created.json()["guid"]
    return guid, tenant.api.get(f"/api/user/read/{guid}").json()["login"]


def test_login_v1_and_v2_answer_as_the_page_shows(tenant: Tenant) -> None:
    body = {"username": tenant.login, "password": b64(tenant.password)}
    with tenant.client() as anonymous:
        v1 = anonymous.post("/api/user/auth", json=body)
        v2 = anonymous.post("/api/user/v2/auth", json=body)
    assert v1.status_code == 200 and v1.text.startswith("Bearer ")
    assert v1.headers["content-type"].startswith("text/plain")
    assert v2.status_code == 200
    answer = v2.json()
    assert list(answer) == ["access_token", "token_type", "expires_in"]
    assert (answer["token_type"], answer["expires_in"]) == ("bearer", 2592000)

    for token in (v1.text.removeprefix("Bearer "), answer["access_token"]):
        head, header, claims = claims_of(token)
        # The page's token starts with exactly this header: {"alg":"HS512"}.
        assert head == "eyJhbGciOiJIUzUxMiJ9"
        assert header == {"alg": "HS512"}
        assert list(claims)[:3] == ["sub", "iss", "exp"]
        assert claims["sub"] == tenant.login
        assert claims["iss"] == "ROLE_ADMIN,"
        assert abs(claims["exp"] - time.time() - 2592000) < 3600


def test_the_tokens_work_on_robofleets_own_routes_too(tenant: Tenant) -> None:
    v1 = login_v1(tenant)
    for authorization in (v1, f"Bearer {v1}"):
        with tenant.client(Authorization=authorization) as client:
            users = client.get("/api/user/read")
            assert users.status_code == 200, users.text
            robots = client.get("/api/job/list")
            assert robots.status_code == 200, robots.text


def test_bearer_bearer_is_accepted(tenant: Tenant) -> None:
    computer = make_robot(tenant.api)
    process = make_process(tenant.api)
    v1 = login_v1(tenant)
    # The header table says `Bearer {RESULT-OF-LOGIN}`, and the result already says Bearer.
    with tenant.client(Authorization=f"Bearer {v1}") as integration:
        run = integration.post(f"/api/integration/v1/run/{computer}/{process}", json={})
        assert run.status_code == 200, run.text
        result = integration.get(f"/api/integration/v1/result/{computer}/{run.text}")
        assert result.status_code == 200 and result.json()["status"] == "PENDENT"


def test_every_failed_login_is_springs_401(tenant: Tenant) -> None:
    guid, blocked_login = make_user(tenant)
    assert (
        tenant.api.put("/api/user/update", json={"Guid": guid, "IsBlocked": True}).status_code
        == 200
    )
    attempts: list[dict[str, Any]] = [
        {"username": tenant.login, "password": b64("wrong")},
        {"username": f"nobody-{uuid.uuid4().hex[:6]}", "password": b64(tenant.password)},
        {"username": tenant.login, "password": "%%% not base64 %%%"},
        {"username": tenant.login, "password": tenant.password},  # sent without base64
        {"username": blocked_login, "password": b64("clerk-password")},
        {"username": tenant.login},
        {"username": "ann\x00@example.com", "password": b64(tenant.password)},
        {"username": tenant.login, "password": b64("wrong\x00")},
        {},
    ]
    with tenant.client() as anonymous:
        for path in ("/api/user/auth", "/api/user/v2/auth"):
            for attempt in attempts:
                response = anonymous.post(path, json=attempt)
                assert_spring(response, 401, "Unauthorized", path)


def test_every_refused_token_is_springs_401(tenant: Tenant) -> None:
    computer = make_robot(tenant.api)
    process = make_process(tenant.api)
    guid, login = make_user(tenant)
    blocked = login_v1(tenant, login, "clerk-password")
    assert (
        tenant.api.put("/api/user/update", json={"Guid": guid, "IsBlocked": True}).status_code
        == 200
    )
    execution = str(uuid.uuid4())
    calls = [
        ("POST", f"/api/integration/v1/run/{computer}/{process}"),
        ("POST", f"/api/integration/v2/run/{computer}/{process}"),
        ("GET", f"/api/integration/v1/run/{computer}/{process}"),
        ("GET", f"/api/integration/v1/result/{computer}/{execution}"),
        ("DELETE", f"/api/integration/v1/delete/{computer}/{execution}"),
    ]
    refused: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
        {"Authorization": "Bearer Bearer eyJhbGciOiJIUzUxMiJ9.e30.e30"},
        {"Authorization": blocked},
    ]
    for headers in refused:
        with tenant.client(**headers) as client:
            for method, path in calls:
                body = {"variables": []} if method == "POST" else None
                response = client.request(method, path, json=body)
                assert_spring(response, 401, "Unauthorized", path)
    # Nothing ran.
    assert tenant.api.get("/api/job/list", params={"Process": process}).json()["count"] == 0


def test_the_token_is_checked_before_the_body(tenant: Tenant) -> None:
    path = "/api/integration/v1/run/a/b"
    with tenant.client() as anonymous:
        bad_type = anonymous.post(path, content=b"x", headers={"Content-Type": "text/plain"})
        bad_json = anonymous.post(path, content=b"{", headers={"Content-Type": "application/json"})
    assert_spring(bad_type, 401, "Unauthorized", path)
    assert_spring(bad_json, 401, "Unauthorized", path)


def test_unreadable_bodies_get_springs_415_and_400(tenant: Tenant) -> None:
    computer = make_robot(tenant.api)
    process = make_process(tenant.api)
    v1 = f"/api/integration/v1/run/{computer}/{process}"
    v2 = f"/api/integration/v2/run/{computer}/{process}"
    variables = b'{"variables": [{"name": "CNPJ", "type": "text", "value": "1"}]}'
    with tenant.client(Authorization=login_v1(tenant)) as integration:
        for path in (v1, v2):
            # A body with no Content-Type at all: Spring reads it as octet-stream, 415.
            assert_spring(
                integration.post(path, content=variables),
                415,
                "Content type '' not supported",
                path,
            )
            assert_spring(
                integration.post(path, content=variables, headers={"Content-Type": "text/plain"}),
                415,
                "Content type 'text/plain' not supported",
                path,
            )
            assert_spring(
                integration.post(path, data={"variables": "x"}),
                415,
                "Content type 'application/x-www-form-urlencoded' not supported",
                path,
            )
            not_json = integration.post(
                path, content=b"{variables: [", headers={"Content-Type": "application/json"}
            )
            assert_spring(not_json, 400, not_json.json()["message"], path)
            assert not_json.json()["message"].startswith("JSON parse error: ")
            wrong_shape = integration.post(path, json={"variables": 5})
            assert_spring(wrong_shape, 400, wrong_shape.json()["message"], path)
            assert "variables: " in wrong_shape.json()["message"]
            not_a_number = integration.post(
                path, json={"variables": [{"name": "N", "type": "number", "value": "many"}]}
            )
            assert_spring(not_a_number, 400, not_a_number.json()["message"], path)
            assert "'many' is not a number" in not_a_number.json()["message"]
        assert tenant.api.get("/api/job/list", params={"Process": process}).json()["count"] == 0

        # No body and no Content-Type: no variables, as v2 "with or without variables" says.
        bare = integration.post(v2)
        assert bare.status_code == 200, bare.text
        assert list(bare.json()) == ["id"]
        empty_json = integration.post(
            v1, headers={"Content-Type": "Application/json; charset=UTF-8"}
        )
        assert empty_json.status_code == 200, empty_json.text
        for run in (bare.json()["id"], empty_json.text):
            assert tenant.api.get(f"/api/job/read/{run}").json()["parameters"] == {}

    with tenant.client() as anonymous:
        for path in ("/api/user/auth", "/api/user/v2/auth"):
            assert_spring(anonymous.post(path), 400, "Required request body is missing", path)
            assert_spring(
                anonymous.post(path, headers={"Content-Type": "application/json"}),
                400,
                "Required request body is missing",
                path,
            )
            assert_spring(
                anonymous.post(path, content=b"user", headers={"Content-Type": "text/plain"}),
                415,
                "Content type 'text/plain' not supported",
                path,
            )
            for unreadable in (b'{"username":', b"\xff\xd7{"):
                broken = anonymous.post(
                    path, content=unreadable, headers={"Content-Type": "application/json"}
                )
                assert_spring(broken, 400, broken.json()["message"], path)
                assert broken.json()["message"].startswith("JSON parse error: ")


def test_get_run_takes_its_variables_from_the_query(tenant: Tenant) -> None:
    computer = make_robot(tenant.api)
    process = make_process(tenant.api)
    with tenant.client(Authorization=login_v1(tenant)) as integration:
        run = integration.get(
            f"/api/integration/v1/run/{computer}/{process}",
            params=[("CNPJ", "12.345.678/0001-90"), ("IE", "123"), ("IE", "456")],
            headers={"Content-Type": "application/json"},  # the page's header table lists it
        )
        plain = integration.get(f"/api/integration/v1/run/{computer}/{process}")
    assert run.status_code == 200 and plain.status_code == 200
    assert run.headers["content-type"].startswith("text/plain")
    job = tenant.api.get(f"/api/job/read/{run.text}").json()
    assert job["parameters"] == {"CNPJ": "12.345.678/0001-90", "IE": "123"}
    assert tenant.api.get(f"/api/job/read/{plain.text}").json()["parameters"] == {}


def test_our_own_routes_keep_the_richer_error_body(tenant: Tenant) -> None:
    with tenant.client(Authorization="Bearer not-a-token") as client:
        response = client.get("/api/job/list")
    assert response.status_code == 401
    assert {"code", "details"} <= set(response.json())
    assert response.json()["message"] != "Unauthorized"
