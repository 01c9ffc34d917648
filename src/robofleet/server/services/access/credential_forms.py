"""The forms credentials come in (the `Key` header, Bearer and Basic authorization), read
without the database: what auth's lookups and the lean robot lookup (lean_auth) both parse."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

from robofleet.contract import ROBOT_SECRET_PREFIX
from robofleet.server.domain.errors import Unauthenticated
from robofleet.server.runtime.security import normalize_api_key


@dataclass(frozen=True)
class Credentials:
    key_header: str | None
    authorization: str | None
    cache_key: str = field(init=False, repr=False, compare=False)
    """Digest of both values: what the caches key a caller by (no cache holds a secret as it
    was sent). Worked out once, on creation: every request asks for it, up to three times
    (not a cached_property: Python 3.11's takes one lock shared by every instance)."""

    def __post_init__(self) -> None:
        raw = f"{self.key_header or ''}\n{self.authorization or ''}"
        object.__setattr__(self, "cache_key", hashlib.sha256(raw.encode()).hexdigest())


def scheme_and_value(authorization: str) -> tuple[str, str]:
    """`Bearer Bearer <jwt>` counts as `Bearer <jwt>`: Roboteasy's v1 login answers
    `Bearer <jwt>` and its page says to send `Bearer {RESULT-OF-LOGIN}`."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        again, _, rest = value.partition(" ")
        if again.lower() == "bearer" and rest.strip():
            value = rest.strip()
    return scheme, value


def robot_and_secret(text: str) -> tuple[str, str]:
    """`<robot GUID>:<robot secret>`, told from `login:password` by the secret's prefix;
    ("", "") for anything else."""
    name, _, secret = text.partition(":")
    guid = normalize_api_key(name)
    if guid is None or not secret.startswith(ROBOT_SECRET_PREFIX):
        return "", ""
    return guid, secret


def decode_base64(value: str, scheme: str) -> str:
    padded = value + "=" * (-len(value) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        return raw.decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthenticated(
            f"the {scheme} credentials are not valid base64; send base64 of the API key "
            "or robot GUID",
            reason="malformed_credentials",
        ) from None


@dataclass(frozen=True, slots=True)
class BasicForm:
    """What decoded Basic credentials name, told apart as the lookups tell them: a robot's
    GUID with its secret, a login and password, or one value (an API key or a robot GUID)."""

    robot_guid: str = ""
    secret: str = ""
    login: str = ""
    password: str = ""
    value: str = ""


def basic_form(text: str) -> BasicForm:
    robot_guid, secret = robot_and_secret(text)
    if secret:
        return BasicForm(robot_guid=robot_guid, secret=secret)
    name, colon, password = text.partition(":")
    if colon and password:
        return BasicForm(login=name, password=password)
    return BasicForm(value=name)
