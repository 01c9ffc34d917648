"""Envelope encryption of credential passwords.

A master key is derived (HKDF-SHA256) from the server's secret: ROBOFLEET_SECRET_KEY, or the
key file generated in the data directory. It never encrypts a password itself: it wraps
*data keys* (random 256-bit AES keys) kept in the `data_keys` table, so every server node
sharing the database and the secret reads the same keys, and a rotation only has to
re-encrypt rows under a new data key. A password is AES-GCM encrypted under a data key with
a random 96-bit nonce and associated data naming its row (account and GUID), so a
ciphertext copied into another row does not decrypt there. The stored form is
`<data key id>:<base64(nonce + ciphertext)>`.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import DataKeyRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.refs import new_guid
from robofleet.server.runtime.security import derive_subkey

ACTIVE = "active"
RETIRING = "retiring"
RETIRED = "retired"
_NONCE = 12
_MASTER_INFO = b"robofleet/resources/master-key/v1"


class SecretUnreadable(Conflict):
    """A stored secret that the server's key cannot open: the secret differs from the one
    that wrote it, or the stored bytes were altered or moved to another row."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"a stored password cannot be decrypted ({why}); the server's "
            "ROBOFLEET_SECRET_KEY (or data-dir secret.key) must be the one that encrypted it",
            code="secret_unreadable",
        )


@dataclass(frozen=True)
class Sealed:
    token: str
    key_id: str


def derive_master_key(secret: str) -> bytes:
    """A key of its own for wrapping data keys, so the token-signing secret is never used
    as an encryption key directly."""
    return derive_subkey(secret, salt=b"robofleet", info=_MASTER_INFO)


def key_id_of(token: str) -> str:
    return token.split(":", 1)[0]


class SecretBox:
    """Seals and opens secrets under the data keys of one database."""

    def __init__(self, secret: str) -> None:
        self._master = AESGCM(derive_master_key(secret))
        self._keys: dict[str, AESGCM] = {}
        self._lock = threading.Lock()

    # --- data keys -----------------------------------------------------------------------

    def _wrap(self, key_id: str, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._master.encrypt(nonce, key, b"robofleet/data-key/" + key_id.encode())

    def _unwrap(self, row: DataKeyRow) -> AESGCM:
        if row.wrapped is None:
            raise SecretUnreadable(f"data key {row.key_id} is retired")
        nonce, body = row.wrapped[:_NONCE], row.wrapped[_NONCE:]
        try:
            key = self._master.decrypt(nonce, body, b"robofleet/data-key/" + row.key_id.encode())
        except InvalidTag:
            raise SecretUnreadable(f"data key {row.key_id} does not open with this key") from None
        return AESGCM(key)

    def check_opens(self, row: DataKeyRow) -> None:
        """SecretUnreadable unless this server's master key opens the data key: a rotation
        run with the wrong secret must stop before it changes anything."""
        if row.wrapped is not None:
            self._unwrap(row)

    def new_data_key(self, session: Session) -> DataKeyRow:
        key_id = new_guid()
        row = DataKeyRow(key_id=key_id, wrapped=self._wrap(key_id, AESGCM.generate_key(256)))
        session.add(row)
        session.flush()
        return row

    def active_key(self, session: Session) -> DataKeyRow:
        """The newest active data key, created on first use. Held with FOR SHARE (PostgreSQL)
        until the transaction ends, so a rotation cannot retire it under this write."""
        query = (
            select(DataKeyRow)
            .where(DataKeyRow.state == ACTIVE)
            .order_by(DataKeyRow.id.desc())
            .limit(1)
            .with_for_update(read=True)
        )
        row = session.scalar(query)
        return row if row is not None else self.new_data_key(session)

    def _cipher(self, session: Session, key_id: str) -> AESGCM:
        with self._lock:
            cached = self._keys.get(key_id)
        if cached is not None:
            return cached
        row = session.scalar(select(DataKeyRow).where(DataKeyRow.key_id == key_id))
        if row is None:
            raise SecretUnreadable(f"data key {key_id} is unknown")
        cipher = self._unwrap(row)
        with self._lock:
            self._keys[key_id] = cipher
        return cipher

    # --- secrets -------------------------------------------------------------------------

    def seal(
        self, session: Session, plaintext: str, associated: str, *, key: DataKeyRow | None = None
    ) -> Sealed:
        key = key or self.active_key(session)
        cipher = self._cipher(session, key.key_id)
        nonce = os.urandom(_NONCE)
        body = cipher.encrypt(nonce, plaintext.encode("utf-8"), associated.encode("utf-8"))
        token = f"{key.key_id}:{base64.b64encode(nonce + body).decode('ascii')}"
        return Sealed(token=token, key_id=key.key_id)

    def open(self, session: Session, token: str, associated: str) -> str:
        key_id, raw = _parsed(token)
        return self._decrypt(self._cipher(session, key_id), raw, associated)

    def open_with_known_key(self, token: str, associated: str) -> str | None:
        """`open` without a session: None when the data key is not in memory yet (the caller
        then opens it with a session, which loads the key)."""
        key_id, raw = _parsed(token)
        with self._lock:
            cipher = self._keys.get(key_id)
        return None if cipher is None else self._decrypt(cipher, raw, associated)

    @staticmethod
    def _decrypt(cipher: AESGCM, raw: bytes, associated: str) -> str:
        try:
            plain = cipher.decrypt(raw[:_NONCE], raw[_NONCE:], associated.encode("utf-8"))
        except InvalidTag:
            raise SecretUnreadable("it belongs to another row or was altered") from None
        return plain.decode("utf-8")


def _parsed(token: str) -> tuple[str, bytes]:
    """The data key's id and the nonce + ciphertext of a sealed token."""
    key_id, _, payload = token.partition(":")
    try:
        return key_id, base64.b64decode(payload, validate=True)
    except ValueError:
        raise SecretUnreadable("the stored form is damaged") from None
