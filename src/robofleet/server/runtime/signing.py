"""Short-lived signed URLs: an HMAC over (purpose, method, object, expiry).

The key is derived from the server secret with HKDF under a purpose label, so a signature
never reveals anything about the secret that signs login tokens, and two purposes (Storage
files now, Robocorp-style work item files later) cannot accept each other's URLs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from robofleet.server.domain.errors import Forbidden
from robofleet.server.runtime.security import derive_subkey


@dataclass(frozen=True)
class SignedGrant:
    """What a valid signature allows: `method` on the one object `subject` until `expires`."""

    method: str
    subject: str
    expires: int


def derive_key(secret: str, purpose: str) -> bytes:
    return derive_subkey(secret, salt=b"robofleet signed urls v1", info=purpose.encode())


class UrlSigner:
    """Signs and checks (method, subject, expiry) for one purpose."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._key = derive_key(secret, purpose)
        self.purpose = purpose

    def signature(self, grant: SignedGrant) -> str:
        message = f"{self.purpose}\n{grant.method}\n{grant.subject}\n{grant.expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def verify(self, grant: SignedGrant, signature: str, *, now: float) -> None:
        """Forbidden (403) unless the signature is this grant's and it has not expired."""
        given = signature.strip().lower().encode("utf-8", "replace")
        if not hmac.compare_digest(self.signature(grant).encode(), given):
            raise Forbidden(
                "the signature does not match this URL: it was changed or not issued here",
                reason="signature_invalid",
            )
        if now >= grant.expires:
            raise Forbidden(
                f"this signed URL expired at Unix time {grant.expires}; ask for a new one",
                reason="signature_expired",
            )
