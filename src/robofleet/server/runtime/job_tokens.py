"""Job tokens: the bearer token a Robocorp robot sends on the /robocorp API.

An HS256 JWT naming the job and its account, signed with a key of its own (HKDF from the
server secret). It carries no expiry: whether it is still good is the job's state, checked
on every call (services.robocorp.context): valid while the job is not final, plus a grace
period after it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from robofleet.server.domain.errors import Unauthenticated
from robofleet.server.runtime.security import derive_subkey

TOKEN_TYPE = "robocorp-job"  # noqa: S105 - a claim value, not a secret


@dataclass(frozen=True)
class JobClaim:
    job_guid: str
    account_guid: str


class JobTokens:
    algorithm = "HS256"

    def __init__(self, secret: str) -> None:
        self._key = derive_subkey(secret, salt=b"robofleet job tokens v1", info=b"robocorp")

    def issue(self, claim: JobClaim) -> str:
        claims = {
            "typ": TOKEN_TYPE,
            "job": claim.job_guid,
            "acc": claim.account_guid,
            "iat": datetime.now(UTC),
        }
        return jwt.encode(claims, self._key, algorithm=self.algorithm)

    def decode(self, token: str) -> JobClaim:
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[self.algorithm], options={"require": ["job", "acc"]}
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(
                f"the job token is not valid ({exc})", reason="token_invalid"
            ) from None
        if claims.get("typ") != TOKEN_TYPE:
            raise Unauthenticated("the token is not a job token", reason="token_invalid")
        return JobClaim(str(claims["job"]), str(claims["acc"]))
