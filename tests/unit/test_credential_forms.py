"""The caches key a caller by a digest of both credential headers, worked out once."""

from __future__ import annotations

from robofleet.server.services.access.credential_forms import Credentials


def test_the_same_credentials_give_the_same_key() -> None:
    assert Credentials("k", "Basic x").cache_key == Credentials("k", "Basic x").cache_key


def test_the_key_tells_apart_which_header_carried_a_value() -> None:
    keys = {
        Credentials("secret", None).cache_key,
        Credentials(None, "secret").cache_key,
        Credentials("secret", "secret").cache_key,
        Credentials(None, None).cache_key,
    }
    assert len(keys) == 4


def test_the_key_holds_no_secret_as_sent() -> None:
    credentials = Credentials("my-api-key-value", "Basic bXktc2VjcmV0")
    assert "my-api-key-value" not in credentials.cache_key
    assert "bXktc2VjcmV0" not in credentials.cache_key
    assert len(credentials.cache_key) == 64  # sha256, hex
