"""The Robocorp vault's transit encryption, scheme `robocloud-vault-transit-v2`.

A fresh AES-256-GCM key seals the secret's JSON; RSA-OAEP (SHA-256) wraps that key. The two
directions differ in one detail the client libraries fix: server -> robot uses the ASCII hex
of the IV as the GCM nonce, robot -> server the raw IV bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCHEME = "robocloud-vault-transit-v2"
_TAG = 16
_OAEP = padding.OAEP(
    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)


class TransitError(ValueError):
    """The request's key or envelope cannot be used; the message says why."""


def public_key_base64(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise TransitError(f"{what} must be a non-empty base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise TransitError(f"{what} is not valid base64") from None


def seal_for_client(values: dict[str, Any], client_public_key: str) -> dict[str, str]:
    """The `value` and `encryption` fields of a secret read (GET), sealed for the robot."""
    try:
        client_key = serialization.load_der_public_key(_b64(client_public_key, "publicKey"))
    except ValueError as exc:
        raise TransitError(f"publicKey is not a DER public key ({exc})") from None
    if not isinstance(client_key, rsa.RSAPublicKey):
        raise TransitError("publicKey must be an RSA public key")
    aes_key = AESGCM.generate_key(bit_length=256)
    iv = os.urandom(16)
    plaintext = json.dumps(values).encode("utf-8")
    sealed = AESGCM(aes_key).encrypt(binascii.hexlify(iv), plaintext, b"")
    return {
        "value": base64.b64encode(sealed[:-_TAG]).decode("ascii"),
        "authTag": base64.b64encode(sealed[-_TAG:]).decode("ascii"),
        "encryptedAES": base64.b64encode(client_key.encrypt(aes_key, _OAEP)).decode("ascii"),
        "iv": base64.b64encode(iv).decode("ascii"),
        "encryptionScheme": SCHEME,
    }


def open_from_client(
    value: object, encryption: object, server_key: rsa.RSAPrivateKey
) -> dict[str, Any]:
    """The secret's values from a PUT body's `value` and `encryption`."""
    if not isinstance(encryption, dict):
        raise TransitError("encryption must be an object")
    scheme = encryption.get("encryptionScheme")
    if scheme != SCHEME:
        raise TransitError(f"encryption.encryptionScheme must be '{SCHEME}', not {scheme!r}")
    try:
        aes_key = server_key.decrypt(_b64(encryption.get("encryptedAES"), "encryptedAES"), _OAEP)
    except ValueError:
        raise TransitError(
            "encryptedAES does not open with this server's key; fetch publicKey again"
        ) from None
    iv = _b64(encryption.get("iv"), "iv")
    body = _b64(value, "value") + _b64(encryption.get("authTag"), "authTag")
    try:
        plain = AESGCM(aes_key).decrypt(iv, body, b"")
    except (InvalidTag, ValueError):
        raise TransitError("value does not decrypt: the envelope was altered") from None
    try:
        values = json.loads(plain)
    except ValueError:
        raise TransitError("the decrypted value is not JSON") from None
    if not isinstance(values, dict):
        raise TransitError("the decrypted value must be a JSON object of keys and values")
    return values
