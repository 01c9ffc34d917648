"""Password hashing, API key hashing, login tokens and the key files in the data directory."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from robofleet.contract import ROBOT_SECRET_PREFIX
from robofleet.server.domain.errors import Unauthenticated
from robofleet.server.settings import PasswordHashing

_HASHERS: dict[PasswordHashing, PasswordHasher] = {
    # argon2id, 3 passes over 64 MiB in 4 lanes: RFC 9106's second recommended option
    # (argon2-cffi's default); about 0.2 s of CPU per hash or check.
    "rfc9106": PasswordHasher(),
    # argon2id, 2 passes over 19 MiB in 1 lane: OWASP's minimum; about a seventh of the CPU,
    # for small machines (and the tests, which create thousands of users).
    "owasp": PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),
}


def derive_subkey(secret: str, *, salt: bytes, info: bytes) -> bytes:
    """A 256-bit key of its own for one use of the server secret (HKDF-SHA256), so the
    secret that signs login tokens never signs or encrypts anything else directly."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(
        secret.encode("utf-8")
    )


def hash_password(password: str, hashing: PasswordHashing) -> str:
    return _HASHERS[hashing].hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Checked with the parameters the hash names, whichever profile made it."""
    try:
        return _HASHERS["rfc9106"].verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> str:
    return str(uuid.uuid4())


def normalize_api_key(key: str) -> str | None:
    """Keys are UUIDs; compare them in one canonical spelling. None if not a UUID."""
    try:
        return str(uuid.UUID(key.strip()))
    except ValueError:
        return None


def hash_api_key(key: str) -> str:
    """Keys carry 122 random bits, so SHA-256 resists guessing; argon2 would cost every call."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_robot_secret() -> str:
    """256 random bits behind a fixed prefix (contract.ROBOT_SECRET_PREFIX)."""
    return ROBOT_SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_robot_secret(secret: str) -> str:
    """Stored like API keys: the secret is random, so SHA-256 resists guessing."""
    return hashlib.sha256(secret.encode()).hexdigest()


def robot_secret_matches(secret_hash: str | None, secret: str) -> bool:
    if not secret_hash:
        return False
    return hmac.compare_digest(secret_hash, hash_robot_secret(secret))


def key_hint(key: str) -> str:
    """What may be shown of a key after it is issued: its last four characters."""
    return "…" + key[-4:]


def new_password() -> str:
    return secrets.token_urlsafe(15)


def write_key_file(path: Path, content: bytes) -> bool:
    """Create a key file readable by the owner only; False when another process made it
    first (then that one's content is the key). The file appears whole (written aside, then
    linked into place), so nodes sharing a data directory never read half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.link(aside, path)
    except FileExistsError:
        return False
    finally:
        aside.unlink(missing_ok=True)
    return True


def load_or_create_secret(path: Path) -> str:
    """A signing secret kept in the data directory; nodes that share the directory and start
    together agree on one (whoever links second reads the first one's)."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    if not write_key_file(path, secret.encode()):
        return path.read_text().strip()
    return secret


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


class TokenCodec:
    """Login tokens: HS512 JWTs shaped like Roboteasy's (header `{"alg":"HS512"}`, `sub` the
    login name, `iss` the role string, `exp`), plus the user's and account's GUIDs."""

    algorithm = "HS512"

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(
        self, *, user_guid: str, account_guid: str, login: str, ttl_seconds: int, roles: str = ""
    ) -> IssuedToken:
        now = datetime.now(UTC)
        # Roboteasy's claims first, in its order; a login name can change, so the user is
        # found by `uid`.
        claims = {
            "sub": login,
            "iss": roles or "robofleet",
            "exp": now + timedelta(seconds=ttl_seconds),
            "uid": user_guid,
            "acc": account_guid,
            "iat": now,
            "typ": "login",
        }
        # PyJWT adds `"typ": "JWT"` to the header unless told not to; Roboteasy's has `alg` only.
        token = jwt.encode(claims, self._secret, algorithm=self.algorithm, headers={"typ": None})
        return IssuedToken(token, ttl_seconds)

    def decode(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[self.algorithm],
                options={"require": ["exp", "sub", "acc"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(
                "the login token has expired; log in again for a new one",
                reason="token_expired",
            ) from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(
                f"the login token is not valid ({exc})", reason="token_invalid"
            ) from None
        if claims.get("typ") != "login":
            raise Unauthenticated("the token is not a login token", reason="token_invalid")
        return claims
