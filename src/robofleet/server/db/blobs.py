"""Content-addressed blob store on the local disk (process packages, storage files)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class LocalBlobStore:
    """Blobs live at `<root>/<first two hex digits>/<sha256>`; equal content is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def spool(self, source: BinaryIO) -> tuple[Path, str, int]:
        """Copy a stream to a temporary file in the store, hashing it on the way."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        with os.fdopen(fd, "wb") as target:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
            target.flush()
            os.fsync(target.fileno())
        return Path(name), digest.hexdigest(), size

    def keep(self, spooled: Path, sha256: str) -> Path:
        """Move a spooled file to its content address (atomically; a duplicate is dropped)."""
        final = self.path_of(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            spooled.unlink(missing_ok=True)
        else:
            spooled.replace(final)
        return final

    def discard(self, spooled: Path) -> None:
        spooled.unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()
