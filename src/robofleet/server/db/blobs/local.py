"""The default blob store: a folder on the local disk."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from robofleet.server.db.blobs import CHUNK, BlobMissing, Spooled, TooLarge


def spool_to(folder: Path, source: BinaryIO, max_bytes: int | None) -> Spooled:
    """Copy `source` into a new file in `folder`, hashing and counting; fsync'd."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as target:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(max_bytes)
                digest.update(chunk)
                target.write(chunk)
            target.flush()
            os.fsync(target.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Spooled(Path(name), digest.hexdigest(), size)


def read_file(path: Path, start: int, end: int | None) -> Iterator[bytes]:
    with path.open("rb") as source:
        source.seek(start)
        left = None if end is None else max(0, end - start)
        while left is None or left > 0:
            chunk = source.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


class LocalBlobStore:
    """Blobs live at `<root>/<first two hex digits>/<sha256>`; equal content is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def spool(self, source: BinaryIO, *, max_bytes: int | None = None) -> Spooled:
        return spool_to(self.root, source, max_bytes)

    def keep(self, spooled: Spooled) -> None:
        """Move the spool file to its content address (atomic; a duplicate is dropped)."""
        final = self._path(spooled.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            spooled.path.unlink(missing_ok=True)
        else:
            spooled.path.replace(final)

    def discard(self, spooled: Spooled) -> None:
        spooled.path.unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self._path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._path(sha256)
        if not path.is_file():
            raise BlobMissing(sha256)
        return read_file(path, start, end)

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def local_path(self, sha256: str) -> Path | None:
        path = self._path(sha256)
        return path if path.is_file() else None
