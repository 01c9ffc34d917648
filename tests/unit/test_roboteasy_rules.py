"""Roboteasy's pure rules: the token's shape, a login body, variables from a query string."""

from __future__ import annotations

import base64
import json

import pytest

from robofleet.server.domain.errors import Unauthenticated
from robofleet.server.runtime.security import TokenCodec
from robofleet.server.schemas.roboteasy import RoboteasyLogin, RoboteasyRun


def part(token: str, index: int) -> dict[str, object]:
    segment = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def test_tokens_have_roboteasys_header_and_claims_first() -> None:
    codec = TokenCodec("s" * 64)
    issued = codec.issue(
        user_guid="u-1", account_guid="a-1", login="ann@example.com", ttl_seconds=60, roles="R,"
    )
    assert issued.token.split(".")[0] == "eyJhbGciOiJIUzUxMiJ9"  # {"alg":"HS512"}
    claims = part(issued.token, 1)
    assert list(claims)[:3] == ["sub", "iss", "exp"]
    assert (claims["sub"], claims["iss"], claims["uid"], claims["acc"]) == (
        "ann@example.com",
        "R,",
        "u-1",
        "a-1",
    )
    assert codec.decode(issued.token)["uid"] == "u-1"
    with pytest.raises(Unauthenticated):
        TokenCodec("t" * 64).decode(issued.token)


@pytest.mark.parametrize(
    ("body", "password"),
    [
        ({"username": "a", "password": base64.b64encode(b"p\xc3\xa1ss").decode()}, "páss"),
        ({"username": "a", "password": "%%%"}, None),
        ({"username": "a", "password": base64.b64encode(b"\xff\xfe").decode()}, None),
        ({"username": "a"}, ""),
        ({"unknown": 1}, ""),
    ],
)
def test_a_login_body_is_always_an_attempt(body: dict[str, object], password: str | None) -> None:
    assert RoboteasyLogin.model_validate(body).decoded_password() == password


def test_query_parameters_are_text_variables_first_value_wins() -> None:
    run = RoboteasyRun.from_query([("CNPJ", "1"), ("IE", "2"), ("IE", "3"), ("", "x")])
    assert run.parameters() == {"CNPJ": "1", "IE": "2"}
    assert RoboteasyRun.from_query([]).parameters() == {}
