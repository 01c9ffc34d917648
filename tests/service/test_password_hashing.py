"""Passwords are hashed with argon2id: by default RFC 9106's second recommended option (3
passes, 64 MiB, 4 lanes), or OWASP's minimum (2 passes, 19 MiB, 1 lane) where
ROBOFLEET_PASSWORD_HASHING says `owasp`. A hash is checked with the parameters it names, so
switching profiles locks nobody out. (The test servers use `owasp`, to save CPU.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from robofleet.server.db.system_actors import FIRST_START
from robofleet.server.db.tables import UserRow
from robofleet.server.runtime.security import hash_password, verify_password
from robofleet.server.settings import SettingsError, load_settings
from tests.service.conftest import SECRET_KEY, Tenant

RFC_9106 = "$argon2id$v=19$m=65536,t=3,p=4$"
OWASP = "$argon2id$v=19$m=19456,t=2,p=1$"


def test_each_profile_names_its_parameters_and_either_hash_verifies() -> None:
    by_rfc, by_owasp = hash_password("s3cret", "rfc9106"), hash_password("s3cret", "owasp")
    assert by_rfc.startswith(RFC_9106) and by_owasp.startswith(OWASP)
    assert verify_password(by_rfc, "s3cret") and verify_password(by_owasp, "s3cret")
    assert not verify_password(by_owasp, "S3cret") and not verify_password("not-a-hash", "x")


def test_the_default_is_rfc_9106_and_an_unknown_profile_is_refused() -> None:
    assert load_settings(secret_key=SECRET_KEY).password_hashing == "rfc9106"
    with pytest.raises(SettingsError, match="ROBOFLEET_PASSWORD_HASHING"):
        load_settings(secret_key=SECRET_KEY, password_hashing="md5")


def test_a_user_made_under_one_profile_signs_in_under_the_other(tenant: Tenant) -> None:
    runtime = tenant.service.runtime
    assert runtime.settings.password_hashing == "owasp"
    made = tenant.api.post(
        "/api/user/create", json={"Login": f"u-{tenant.guid[:8]}", "Password": "pass-word-1"}
    )
    assert made.status_code == 200, made.text
    with runtime.db.write(actor=FIRST_START) as session:
        user = session.scalar(select(UserRow).where(UserRow.login == f"u-{tenant.guid[:8]}"))
        assert user is not None and user.password_hash.startswith(OWASP)
        user.password_hash = hash_password("pass-word-1", "rfc9106")
    login = {"Login": f"u-{tenant.guid[:8]}", "Password": "pass-word-1"}
    assert tenant.api.post("/api/user/login", json=login).status_code == 200
    wrong = {**login, "Password": "pass-word-2"}
    assert tenant.api.post("/api/user/login", json=wrong).status_code == 401
