"""The vault's transit encryption in both directions, checked with `cryptography` exactly as
robocorp-vault uses it, and the signatures of the /robocorp upload URLs and job tokens."""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from robofleet.server.domain.errors import Forbidden, Unauthenticated
from robofleet.server.domain.vault_transit import (
    SCHEME,
    TransitError,
    open_from_client,
    public_key_base64,
    seal_for_client,
)
from robofleet.server.runtime.job_tokens import JobClaim, JobTokens
from robofleet.server.runtime.signing import SignedGrant, UrlSigner

OAEP = padding.OAEP(
    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)
SERVER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLIENT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def client_public_key() -> str:
    der = CLIENT_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def client_reads(response: dict[str, Any]) -> Any:
    """robocorp-vault's decryption of a GET: the nonce is the hex of the iv."""
    aes_key = CLIENT_KEY.decrypt(base64.b64decode(response["encryptedAES"]), OAEP)
    sealed = base64.b64decode(response["value"]) + base64.b64decode(response["authTag"])
    iv = binascii.hexlify(base64.b64decode(response["iv"]))
    return json.loads(AESGCM(aes_key).decrypt(iv, sealed, b""))


def client_writes(values: Any, server_public: str) -> tuple[str, dict[str, str]]:
    """robocorp-vault's encryption of a PUT: the nonce is the raw iv."""
    key = serialization.load_der_public_key(base64.b64decode(server_public))
    assert isinstance(key, rsa.RSAPublicKey)
    aes_key = AESGCM.generate_key(bit_length=256)
    iv = os.urandom(16)
    sealed = AESGCM(aes_key).encrypt(iv, json.dumps(values).encode(), b"")
    encryption = {
        "encryptionScheme": SCHEME,
        "encryptedAES": base64.b64encode(key.encrypt(aes_key, OAEP)).decode(),
        "authTag": base64.b64encode(sealed[-16:]).decode(),
        "iv": base64.b64encode(iv).decode(),
    }
    return base64.b64encode(sealed[:-16]).decode(), encryption


def test_a_read_opens_with_the_clients_own_key() -> None:
    values = {"username": "bot", "password": "olá ✓", "n": 3}
    sealed = seal_for_client(values, client_public_key())
    assert sealed["encryptionScheme"] == SCHEME
    assert len(base64.b64decode(sealed["iv"])) == 16
    assert client_reads(sealed) == values


def test_a_write_opens_with_the_servers_key() -> None:
    values = {"value": "t0ken"}
    value, encryption = client_writes(values, public_key_base64(SERVER_KEY))
    assert open_from_client(value, encryption, SERVER_KEY) == values


def test_an_altered_or_foreign_envelope_is_refused() -> None:
    value, encryption = client_writes({"a": 1}, public_key_base64(SERVER_KEY))
    tampered = dict(encryption, authTag=base64.b64encode(b"\0" * 16).decode())
    with pytest.raises(TransitError, match="altered"):
        open_from_client(value, tampered, SERVER_KEY)
    with pytest.raises(TransitError, match="this server's key"):
        open_from_client(value, encryption, CLIENT_KEY)
    with pytest.raises(TransitError, match="encryptionScheme"):
        open_from_client(value, dict(encryption, encryptionScheme="v1"), SERVER_KEY)
    with pytest.raises(TransitError, match="base64"):
        open_from_client("not base64!", encryption, SERVER_KEY)
    not_object, envelope = client_writes(["a"], public_key_base64(SERVER_KEY))
    with pytest.raises(TransitError, match="JSON object"):
        open_from_client(not_object, envelope, SERVER_KEY)


def test_a_bad_client_key_is_refused() -> None:
    with pytest.raises(TransitError, match="publicKey"):
        seal_for_client({"a": 1}, base64.b64encode(b"not a key").decode())


def test_upload_signatures_bind_subject_and_expiry() -> None:
    signer = UrlSigner("secret", "robocorp upload")
    grant = SignedGrant("PUT", "item\nfile.txt", int(time.time()) + 60)
    signature = signer.signature(grant)
    signer.verify(grant, signature, now=time.time())
    with pytest.raises(Forbidden):
        signer.verify(SignedGrant("PUT", "item\nother.txt", grant.expires), signature, now=0)
    with pytest.raises(Forbidden):
        signer.verify(grant, signature, now=grant.expires)
    with pytest.raises(Forbidden):
        UrlSigner("secret", "storage file").verify(grant, signature, now=0)


def test_job_tokens_name_their_job_and_only_open_with_their_key() -> None:
    tokens = JobTokens("secret")
    token = tokens.issue(JobClaim("job-guid", "account-guid"))
    assert tokens.decode(token) == JobClaim("job-guid", "account-guid")
    with pytest.raises(Unauthenticated):
        JobTokens("another secret").decode(token)
    with pytest.raises(Unauthenticated):
        tokens.decode(token[:-2])
