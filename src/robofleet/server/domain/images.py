"""What a log line's screenshot may be: an image in one of the formats browsers show,
recognised by its first bytes (the client's declared type is not trusted)."""

from __future__ import annotations

import base64
import binascii
import re

from robofleet.contract import image_type

_DATA_URL = re.compile(r"^data:[\w.+/-]*(;[\w=.+-]*)*;base64,", re.IGNORECASE)


def decode_base64_image(text: str, max_bytes: int) -> tuple[bytes, str]:
    """The image and its media type from base64 text (a `data:` URL prefix is allowed).
    Raises ValueError with the problem, phrased for the caller."""
    body = _DATA_URL.sub("", text.strip(), count=1)
    if len(body) > (max_bytes + 2) // 3 * 4 + 8:
        raise ValueError(f"is larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64 text") from None
    if len(data) > max_bytes:
        raise ValueError(f"is larger than {max_bytes} bytes")
    kind = image_type(data[:16])
    if kind is None:
        raise ValueError("is not an image: send PNG, JPEG, GIF, WebP or BMP")
    return data, kind
