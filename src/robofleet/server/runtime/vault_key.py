"""The server's long-lived RSA key pair for the Robocorp vault's transit encryption: robots
encrypt secrets they set with its public half. Kept as a PEM file in the data directory,
owner-readable only, created at first use (several server processes share the data
directory, as they share secret.key)."""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from robofleet.server.runtime.security import write_key_file

KEY_BITS = 2048


class VaultKey:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    def private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = _load_or_create(self._path)
            return self._key


def _load_or_create(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if write_key_file(path, pem):
            return key
        # Another process wrote it first: read theirs.
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return loaded
