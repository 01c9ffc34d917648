"""Blob stores: where process packages, storage files and log screenshots keep their bytes.

Blobs are content-addressed by SHA-256, so equal content is stored once and a rename or a move
is a change of metadata only. Writing goes through a spool file on local disk: the hash is known
only after the last byte, and packages are inspected before they are kept. Nothing is ever held
whole in memory: reads come back as an iterator of chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024
"""Bytes read or written at a time."""


@dataclass(frozen=True)
class Spooled:
    """An upload copied to local disk and hashed, not yet kept in the store."""

    path: Path
    sha256: str
    size: int


class BlobStore(Protocol):
    """What every blob store offers (the local folder, S3-compatible object storage)."""

    def spool(self, source: BinaryIO, *, max_bytes: int | None = None) -> Spooled:
        """Copy a stream to a local spool file, hashing it on the way. More than `max_bytes`
        raises `TooLarge` and leaves nothing behind."""
        ...

    def keep(self, spooled: Spooled) -> None:
        """Store a spooled file under its hash (a duplicate costs nothing) and remove the
        spool file."""
        ...

    def discard(self, spooled: Spooled) -> None:
        """Remove a spool file that was not kept (no error if it is gone)."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int | None:
        """The blob's size in bytes, or None when it is not stored."""
        ...

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes `start` to `end` (exclusive; None is the end of the blob), in chunks.
        Raises `BlobMissing` when the blob is not stored."""
        ...

    def delete(self, sha256: str) -> None:
        """Forget a blob (no error if it is gone). Callers make sure nothing refers to it."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """The blob's file when the store is a local folder (lets the server send it with
        sendfile), else None."""
        ...


class BlobMissing(Exception):
    """A blob the database refers to is not in the store."""


class TooLarge(Exception):
    """An upload went past its size limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class BlobStoreUnavailable(Exception):
    """The configured blob store cannot be used (start-up check): the message says why."""
