"""Storage's pure rules: byte ranges, Sherpa's text encodings, signed URL checks."""

from __future__ import annotations

import base64

import pytest

from robofleet.server.domain.errors import Forbidden, InvalidInput, RangeNotSatisfiable
from robofleet.server.domain.ranges import ByteRange, parse_range
from robofleet.server.runtime.signing import SignedGrant, UrlSigner, derive_key
from robofleet.server.services.storage.content import content_type_of, decode_text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-0", ByteRange(0, 1)),
        ("bytes=10-19", ByteRange(10, 20)),
        ("bytes=10-", ByteRange(10, 100)),
        ("bytes=90-500", ByteRange(90, 100)),
        ("bytes=-5", ByteRange(95, 100)),
        ("bytes=-500", ByteRange(0, 100)),
        ("bytes = 1 - 2", ByteRange(1, 3)),
        ("bytes=5-1", None),  # last before first: invalid, so ignored
        ("bytes=0-1,5-6", None),  # several ranges: the whole content
        ("lines=1-2", None),
        ("bytes=-", None),
    ],
)
def test_ranges(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_ranges_past_the_end_are_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, 100)
    assert caught.value.headers == {"Content-Range": "bytes */100"}


def test_an_empty_file_has_no_range() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-1", 0)


def test_content_range() -> None:
    assert ByteRange(10, 20).content_range(100) == "bytes 10-19/100"


CONTENT = "Счёт №42\n".encode()


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (CONTENT.hex(), None),
        (CONTENT.hex().upper(), None),
        (" ".join(CONTENT.hex()[i : i + 8] for i in range(0, len(CONTENT.hex()), 8)), None),
        (base64.b32encode(CONTENT).decode(), None),
        (base64.b32encode(CONTENT).decode().rstrip("=").lower(), None),
        (base64.b64encode(CONTENT).decode(), "base64"),
        (CONTENT.decode(), "text"),
        (CONTENT.hex(), "base16"),
        (base64.b32encode(CONTENT).decode(), "base32"),
    ],
)
def test_sherpa_text_forms_decode(text: str, encoding: str | None) -> None:
    assert decode_text(text, encoding) == CONTENT


def test_hex_text_is_base16_before_base32() -> None:
    # "ABCD1234" is valid in both alphabets: Sherpa's Base16 wins.
    assert decode_text("ABCD1234", None) == bytes.fromhex("ABCD1234")


@pytest.mark.parametrize(
    ("text", "encoding"), [("not base!", None), ("zz", "base16"), ("a", "base64")]
)
def test_bad_text_is_invalid_input_naming_file(text: str, encoding: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_text(text, encoding)
    assert caught.value.details[0].field == "File"


def test_content_types() -> None:
    assert content_type_of("a.pdf", None, None) == "application/pdf"
    assert content_type_of("a.pdf", None, "application/octet-stream") == "application/pdf"
    assert content_type_of("a.bin", None, "image/png") == "image/png"
    assert content_type_of("a.pdf", "text/plain", "image/png") == "text/plain"
    assert content_type_of("noext", None, None) == "application/octet-stream"


SECRET = "s" * 64


def test_signatures_bind_method_object_and_expiry() -> None:
    signer = UrlSigner(SECRET, "storage file")
    grant = SignedGrant("GET", "guid-1", 2_000)
    signature = signer.signature(grant)
    signer.verify(grant, signature, now=1_999)
    signer.verify(grant, signature.upper(), now=1_999)
    for changed in (
        SignedGrant("PUT", "guid-1", 2_000),
        SignedGrant("GET", "guid-2", 2_000),
        SignedGrant("GET", "guid-1", 2_001),
    ):
        with pytest.raises(Forbidden) as refused:
            signer.verify(changed, signature, now=1_999)
        assert refused.value.code == "signature_invalid"
    with pytest.raises(Forbidden) as expired:
        signer.verify(grant, signature, now=2_000)
    assert expired.value.code == "signature_expired"


def test_keys_are_derived_per_purpose_not_the_secret() -> None:
    assert derive_key(SECRET, "storage file") != derive_key(SECRET, "work items")
    assert SECRET.encode()[:32] != derive_key(SECRET, "storage file")
    grant = SignedGrant("GET", "g", 10)
    other = UrlSigner(SECRET, "work items")
    with pytest.raises(Forbidden):
        other.verify(grant, UrlSigner(SECRET, "storage file").signature(grant), now=0)


def test_a_signature_that_is_not_hex_text_is_refused_not_an_error() -> None:
    signer = UrlSigner(SECRET, "storage file")
    with pytest.raises(Forbidden):
        signer.verify(SignedGrant("GET", "g", 10), "ö" * 64, now=0)
