"""Each authentication form: right, wrong, missing, expired, blocked, rotated."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from tests.acceptance.conftest import Tenant
from tests.support.server import SECRET_KEY


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def login_token(tenant: Tenant) -> str:
    with tenant.client() as anonymous:
        response = anonymous.post(
            "/api/user/login", json={"Login": tenant.login, "Password": tenant.password}
        )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    return str(response.json()["access_token"])


def users_with(tenant: Tenant, **headers: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    with tenant.client(**headers) as client:
        response = client.get("/api/user/read")
    return response.status_code, response.json()


def test_key_header(tenant: Tenant) -> None:
    status, body = users_with(tenant, Key=tenant.key)
    assert status == 200
    assert [u["login"] for u in body] == [tenant.login]


def test_bearer_base64_of_key(tenant: Tenant) -> None:
    status, _ = users_with(tenant, Authorization=f"Bearer {b64(tenant.key)}")
    assert status == 200


def test_basic_base64_of_key(tenant: Tenant) -> None:
    status, _ = users_with(tenant, Authorization=f"Basic {b64(tenant.key)}")
    assert status == 200
    status, _ = users_with(tenant, Authorization=f"Basic {b64(tenant.key + ':')}")
    assert status == 200


def test_basic_login_and_password(tenant: Tenant) -> None:
    status, _ = users_with(
        tenant, Authorization=f"Basic {b64(f'{tenant.login}:{tenant.password}')}"
    )
    assert status == 200
    status, body = users_with(tenant, Authorization=f"Basic {b64(f'{tenant.login}:wrong')}")
    assert status == 401
    assert body["code"] == "invalid_credentials"


def test_login_token(tenant: Tenant) -> None:
    token = login_token(tenant)
    status, body = users_with(tenant, Authorization=f"Bearer {token}")
    assert status == 200
    assert body[0]["last_login_at"] is not None


def test_wrong_key_is_401(tenant: Tenant) -> None:
    for headers in (
        {"Key": str(uuid.uuid4())},
        {"Authorization": f"Bearer {b64(str(uuid.uuid4()))}"},
        {"Authorization": f"Basic {b64(str(uuid.uuid4()))}"},
    ):
        status, body = users_with(tenant, **headers)
        assert status == 401, headers
        assert body["code"] == "invalid_credentials"
        assert body["status"] == 401 and body["error"] == "Unauthorized"


def test_missing_credentials_is_401(tenant: Tenant) -> None:
    status, body = users_with(tenant)
    assert status == 401
    assert body["code"] == "missing_credentials"
    assert "Key" in body["message"] and "Bearer" in body["message"]


def test_malformed_credentials_name_the_problem(tenant: Tenant) -> None:
    status, body = users_with(tenant, Authorization="Basic !!!not-base64!!!")
    assert status == 401
    assert body["code"] == "malformed_credentials"
    assert "base64" in body["message"]
    status, body = users_with(tenant, Key="not-a-uuid")
    assert status == 401
    assert "UUID" in body["message"]
    status, body = users_with(tenant, Authorization="Digest abc")
    assert status == 401
    assert body["code"] == "unsupported_scheme"


def test_wrong_password_login_is_401(tenant: Tenant) -> None:
    with tenant.client() as anonymous:
        response = anonymous.post(
            "/api/user/login", json={"Login": tenant.login, "Password": "nope-nope"}
        )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_expired_token_is_401(tenant: Tenant) -> None:
    token = login_token(tenant)
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS512"])
    claims["exp"] = datetime.now(UTC) - timedelta(seconds=5)
    expired = jwt.encode(claims, SECRET_KEY, algorithm="HS512")
    status, body = users_with(tenant, Authorization=f"Bearer {expired}")
    assert status == 401
    assert body["code"] == "token_expired"


def test_forged_token_is_401(tenant: Tenant) -> None:
    token = login_token(tenant)
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS512"])
    forged = jwt.encode(claims, "another-secret-" * 5, algorithm="HS512")
    status, body = users_with(tenant, Authorization=f"Bearer {forged}")
    assert status == 401
    assert body["code"] == "token_invalid"


def test_blocked_user_is_refused(tenant: Tenant) -> None:
    created = tenant.api.post(
        "/api/user/create",
        json={
            "Login": f"clerk-{uuid.uuid4().hex[:6]}",
            "Password": "clerk-password",
            "Roles": "Administrator",
        },
    )
    assert created.status_code == 200, created.text
    login = tenant.api.get(f"/api/user/read/{created.json()['guid']}").json()["login"]
    with tenant.client() as anonymous:
        token = anonymous.post(
            "/api/user/login", json={"Login": login, "Password": "clerk-password"}
        ).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert users_with(tenant, **bearer)[0] == 200

    blocked = tenant.api.put(
        "/api/user/update", json={"Guid": created.json()["guid"], "IsBlocked": True}
    )
    assert blocked.status_code == 200, blocked.text
    status, body = users_with(tenant, **bearer)
    assert status == 403
    assert body["code"] == "user_blocked"
    with tenant.client() as anonymous:
        again = anonymous.post(
            "/api/user/login", json={"Login": login, "Password": "clerk-password"}
        )
    assert again.status_code == 403
    assert again.json()["code"] == "user_blocked"


def test_rotated_key_stops_working_at_once(tenant: Tenant) -> None:
    refreshed = tenant.api.post("/api/apiKey/refresh")
    assert refreshed.status_code == 200, refreshed.text
    new_key = refreshed.json()["key"]
    assert new_key != tenant.key
    assert users_with(tenant, Key=tenant.key)[0] == 401
    assert users_with(tenant, Key=new_key)[0] == 200
    with tenant.client(Key=new_key) as client:
        listed = client.get("/api/apiKey/read").json()
    assert [k["hint"] for k in listed] == [refreshed.json()["hint"]]
    assert new_key not in str(listed)


def test_assign_a_chosen_key(tenant: Tenant) -> None:
    chosen = str(uuid.uuid4())
    assigned = tenant.api.post("/api/apiKey/assign", data={"key": chosen})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["key"] == chosen
    assert users_with(tenant, Key=chosen)[0] == 200
    assert users_with(tenant, Key=tenant.key)[0] == 401
    with tenant.client(Key=chosen) as client:
        bad = client.post("/api/apiKey/assign", json={"Key": "nope"})
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "Key"


def test_user_key_carries_the_users_roles(tenant: Tenant) -> None:
    tenant.api.post("/api/role/create", json={"Name": "Readers", "Permissions": {"user": "r"}})
    user = tenant.api.post(
        "/api/user/create",
        json={
            "Login": f"reader-{uuid.uuid4().hex[:6]}",
            "Password": "reader-password",
            "Roles": ["Readers"],
        },
    ).json()
    issued = tenant.api.post("/api/apiKey/assign", json={"User": user["guid"]})
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "user"
    personal = issued.json()["key"]
    assert users_with(tenant, Key=personal)[0] == 200
    with tenant.client(Key=personal) as client:
        denied = client.post("/api/role/create", json={"Name": "Sneaky"})
    assert denied.status_code == 403
    # The account key is untouched by a user's key.
    assert users_with(tenant, Key=tenant.key)[0] == 200


def test_roboteasy_login_v1_and_v2(tenant: Tenant) -> None:
    body = {"username": tenant.login, "password": b64(tenant.password)}
    with tenant.client() as anonymous:
        v1 = anonymous.post("/api/user/auth", json=body)
        v2 = anonymous.post("/api/user/v2/auth", json=body)
        wrong = anonymous.post("/api/user/auth", json={**body, "password": b64("wrong")})
        not_b64 = anonymous.post("/api/user/v2/auth", json={**body, "password": "%%%"})
    assert v1.status_code == 200
    assert v1.text.startswith("Bearer ey")
    assert users_with(tenant, Authorization=v1.text)[0] == 200
    assert v2.status_code == 200
    assert v2.json()["token_type"] == "bearer"
    assert v2.json()["expires_in"] == 2592000
    assert users_with(tenant, Authorization=f"Bearer {v2.json()['access_token']}")[0] == 200
    assert wrong.status_code == 401
    assert set(wrong.json()) >= {"timestamp", "status", "error", "message", "path"}
    assert wrong.json()["path"] == "/api/user/auth"
    # Roboteasy has one failed login: a password that is not base64 is one.
    assert not_b64.status_code == 401
    assert not_b64.json()["message"] == "Unauthorized"


def test_health_needs_no_credentials(tenant: Tenant) -> None:
    with tenant.client() as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] in {"sqlite", "postgresql"}
