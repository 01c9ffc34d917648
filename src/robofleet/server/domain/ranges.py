"""HTTP `Range` for downloads: one byte range, as RFC 9110 section 14 describes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from robofleet.server.domain.errors import RangeNotSatisfiable

_ONE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start` to `end`, end exclusive."""

    start: int
    end: int

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to send, or None for the whole content. A header we do not understand
    (another unit, several ranges) is ignored, as the RFC allows; a well-formed range that
    names no byte of the content raises RangeNotSatisfiable."""
    if not header:
        return None
    match = _ONE_RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        # A suffix: the last N bytes.
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - length), size)
    start = int(first)
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = size if not last else min(int(last) + 1, size)
    if end <= start:
        return None  # last before first: syntactically invalid, so ignored
    return ByteRange(start, end)
