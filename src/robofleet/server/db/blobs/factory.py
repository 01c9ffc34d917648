"""The blob store the settings name."""

from __future__ import annotations

from robofleet.server.db.blobs import BlobStore
from robofleet.server.db.blobs.local import LocalBlobStore
from robofleet.server.settings import Settings


def open_blob_store(settings: Settings) -> BlobStore:
    """Raises BlobStoreUnavailable when an S3 store cannot be reached or set up."""
    if settings.blob_store == "s3":
        from robofleet.server.db.blobs.s3 import open_s3_store

        secret = settings.s3_secret_access_key
        return open_s3_store(
            bucket=settings.s3_bucket or "",
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            prefix=settings.s3_prefix,
            spool_dir=settings.spool_dir,
        )
    return LocalBlobStore(settings.blob_dir)
