"""Web sessions (idle timeout, blocked users, sign-out) and the brute-force limit on logins."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import WebSessionRow
from robofleet.server.domain.errors import RateLimited, Unauthenticated
from robofleet.server.services.access import auth
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.web_sessions import (
    end_web_session,
    open_web_session,
    resume_web_session,
)
from tests.service.conftest import Service

PASSWORD = "user-password-1"


def new_user(service: Service) -> str:
    login = f"u-{uuid.uuid4().hex[:10]}"
    made = service.admin.post(
        "/api/user/create", json={"Login": login, "Password": PASSWORD, "Roles": ["Administrator"]}
    )
    assert made.status_code == 200, made.text
    return login


def signed_in_session(service: Service, login: str) -> str:
    signed = auth.sign_in(service.runtime, login_name=login, password=PASSWORD, address="10.0.0.1")
    return open_web_session(service.runtime, signed, address="10.0.0.1", user_agent="t").token


def _idle_past_the_timeout(service: Service, token: str, beyond: timedelta) -> None:
    """The session `token` last seen the idle timeout plus `beyond` ago."""
    idle = timedelta(minutes=service.runtime.settings.web_idle_timeout_minutes)
    with service.runtime.db.write(actor=auth.LOGIN) as session:
        session.execute(
            update(WebSessionRow)
            .where(WebSessionRow.token_hash == _hash(token))
            .values(last_seen_at=utcnow() - idle - beyond)
        )


def test_a_session_resumes_until_it_is_idle_too_long(service: Service) -> None:
    login = new_user(service)
    token = signed_in_session(service, login)
    resumed = resume_web_session(service.runtime, token)
    assert resumed is not None and resumed.login == login
    _idle_past_the_timeout(service, token, timedelta(seconds=1))
    assert resume_web_session(service.runtime, token) is None
    with service.runtime.db.read() as session:
        left = session.query(WebSessionRow).filter_by(token_hash=_hash(token)).count()
    assert left == 0  # an expired session is removed, not kept


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_a_use_within_the_timeout_keeps_the_session_alive(service: Service) -> None:
    token = signed_in_session(service, new_user(service))
    with service.runtime.db.write(actor=auth.LOGIN) as session:
        session.execute(
            update(WebSessionRow)
            .where(WebSessionRow.token_hash == _hash(token))
            .values(last_seen_at=utcnow() - timedelta(minutes=5))
        )
    assert resume_web_session(service.runtime, token) is not None
    with service.runtime.db.read() as session:
        row = session.query(WebSessionRow).filter_by(token_hash=_hash(token)).one()
        assert utcnow() - row.last_seen_at < timedelta(seconds=30)


def test_a_blocked_user_s_session_ends(service: Service) -> None:
    login = new_user(service)
    token = signed_in_session(service, login)
    guid = next(
        u["guid"] for u in service.admin.get("/api/user/read").json() if u["login"] == login
    )
    assert (
        service.admin.put("/api/user/update", json={"Guid": guid, "IsBlocked": True}).status_code
        == 200
    )
    assert resume_web_session(service.runtime, token) is None


def test_signing_out_ends_the_session(service: Service) -> None:
    token = signed_in_session(service, new_user(service))
    session = resume_web_session(service.runtime, token)
    assert session is not None
    end_web_session(service.runtime, Caller(session.principal), token)
    assert resume_web_session(service.runtime, token) is None
    assert resume_web_session(service.runtime, "") is None
    assert resume_web_session(service.runtime, "x" * 500) is None


def test_failed_logins_lock_one_name_from_one_address_for_a_while(service: Service) -> None:
    login = new_user(service)
    limit = service.runtime.settings.login_max_failures
    for _ in range(limit):
        with pytest.raises(Unauthenticated):
            auth.sign_in(service.runtime, login_name=login, password="wrong", address="10.9.9.9")
    with pytest.raises(RateLimited) as refused:
        auth.sign_in(service.runtime, login_name=login, password=PASSWORD, address="10.9.9.9")
    window = service.runtime.settings.login_failure_window_seconds
    assert 0 < refused.value.retry_after <= window
    # Another address is not locked out by someone else's guesses.
    assert auth.sign_in(service.runtime, login_name=login, password=PASSWORD, address="10.9.9.8")


def test_many_names_tried_from_one_address_lock_that_address(service: Service) -> None:
    limit = service.runtime.settings.login_max_failures_per_address
    for index in range(limit):
        with pytest.raises(Unauthenticated):
            auth.sign_in(
                service.runtime, login_name=f"nobody-{index}", password="x", address="10.7.7.7"
            )
    with pytest.raises(RateLimited):
        auth.sign_in(
            service.runtime, login_name=new_user(service), password=PASSWORD, address="10.7.7.7"
        )


def test_a_sign_in_removes_sessions_left_to_expire(service: Service) -> None:
    forgotten = signed_in_session(service, new_user(service))
    _idle_past_the_timeout(service, forgotten, timedelta(minutes=1))
    fresh = signed_in_session(service, new_user(service))
    with service.runtime.db.read() as session:
        assert session.query(WebSessionRow).filter_by(token_hash=_hash(forgotten)).count() == 0
        assert session.query(WebSessionRow).filter_by(token_hash=_hash(fresh)).count() == 1
