"""A file's bytes on their way in: Sherpa's text forms decoded, spooled, kept, typed."""

from __future__ import annotations

import base64
import binascii
import io
import mimetypes
import re
from dataclasses import dataclass
from typing import BinaryIO

from robofleet.server.db import blobs as blob_store
from robofleet.server.db.blobs import Spooled
from robofleet.server.domain.errors import FieldProblem, InvalidInput, TooLarge
from robofleet.server.runtime import Runtime

GENERIC_TYPE = "application/octet-stream"
_HEX = re.compile(r"[0-9A-Fa-f]*")
_BASE32 = re.compile(r"[A-Za-z2-7]*=*")


@dataclass(frozen=True)
class Incoming:
    """A file's bytes as a stream, with what the client said about them."""

    source: BinaryIO
    filename: str | None = None
    content_type: str | None = None


def decode_text(text: str, encoding: str | None) -> bytes:
    """Sherpa sends file content as Base16 or Base32 text. Without an explicit encoding,
    hexadecimal text is Base16 and other Base32-alphabet text Base32 (hex digits are Base32
    too, so Base16 wins: it is what Sherpa's own examples send)."""
    compact = "".join(text.split())
    if encoding is None:
        if len(compact) % 2 == 0 and _HEX.fullmatch(compact):
            encoding = "base16"
        elif _BASE32.fullmatch(compact):
            encoding = "base32"
        else:
            raise InvalidInput.for_field(
                "File",
                "is neither Base16 nor Base32 text; say which with `Encoding` (base16, base32, "
                "base64, text) or upload the file as multipart/form-data",
            )
    try:
        if encoding == "base16":
            return base64.b16decode(compact, casefold=True)
        if encoding == "base32":
            core = compact.upper().rstrip("=")
            return base64.b32decode(core + "=" * (-len(core) % 8))
        if encoding == "base64":
            return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput.for_field("File", f"is not valid {encoding} text") from None
    return text.encode("utf-8")


def incoming_text(text: str, encoding: str | None) -> Incoming:
    return Incoming(io.BytesIO(decode_text(text, encoding)))


def content_type_of(name: str, explicit: str | None, declared: str | None) -> str:
    """The type given in the request, else the one the upload declared (unless generic),
    else the one the name suggests."""
    for given in (explicit, declared):
        if given and given.strip() and given.split(";")[0].strip().lower() != GENERIC_TYPE:
            return given.strip()
    guessed, _ = mimetypes.guess_type(name)
    return guessed or GENERIC_TYPE


def spool_and_keep(runtime: Runtime, incoming: Incoming) -> Spooled:
    """Copy the stream to a spool file (hashing it), then into the blob store. Over the
    storage limit: 413, and nothing is left behind."""
    limit = runtime.settings.storage_max_upload_bytes
    try:
        spooled = runtime.blobs.spool(incoming.source, max_bytes=limit)
    except blob_store.TooLarge:
        problem = (
            f"the file is more than {limit} bytes, the largest this server accepts "
            "(ROBOFLEET_STORAGE_MAX_UPLOAD_BYTES)"
        )
        raise TooLarge(f"File: {problem}", details=[FieldProblem("File", problem)]) from None
    try:
        runtime.blobs.keep(spooled)
    except BaseException:
        runtime.blobs.discard(spooled)
        raise
    return spooled
