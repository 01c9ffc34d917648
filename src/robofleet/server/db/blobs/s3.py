"""S3-compatible object storage as a blob store, through boto3.

Uploads are spooled on local disk first (the hash names the object), then sent with boto3's
managed transfer, which streams the spool file in multipart parts; reads are ranged
GetObject calls whose body is consumed in chunks. Nothing is held whole in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from robofleet.server.db.blobs import CHUNK, BlobMissing, BlobStoreUnavailable, Spooled
from robofleet.server.db.blobs.local import spool_to

PART_SIZE = 16 * 1024 * 1024
"""Multipart part size: 2 GiB is 128 parts, well inside S3's 10,000."""


def _is_missing(exc: Exception) -> bool:
    """Whether a botocore ClientError says the key or bucket does not exist."""
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    try:
        code = str(response["Error"]["Code"])
    except (KeyError, TypeError):
        code = ""
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"} or status == 404


class S3BlobStore:
    """Blobs are objects `<prefix><first two hex digits>/<sha256>` in one bucket."""

    def __init__(self, client: Any, bucket: str, *, prefix: str, spool_dir: Path) -> None:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import ClientError

        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.spool_dir = spool_dir
        self._client_error: type[Exception] = ClientError
        self._transfer = TransferConfig(
            multipart_threshold=PART_SIZE,
            multipart_chunksize=PART_SIZE,
            max_concurrency=4,
            io_chunksize=CHUNK,
        )

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def spool(self, source: BinaryIO, *, max_bytes: int | None = None) -> Spooled:
        return spool_to(self.spool_dir, source, max_bytes)

    def keep(self, spooled: Spooled) -> None:
        """Upload the spool file unless the object is there already; then remove it."""
        try:
            if not self.exists(spooled.sha256):
                self.client.upload_file(
                    str(spooled.path),
                    self.bucket,
                    self._key(spooled.sha256),
                    Config=self._transfer,
                )
        finally:
            spooled.path.unlink(missing_ok=True)

    def discard(self, spooled: Spooled) -> None:
        spooled.path.unlink(missing_ok=True)

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(
                Bucket=self.bucket, Key=self._key(sha256)
            )
        except self._client_error as exc:
            if _is_missing(exc):
                return None
            raise
        return head

    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def size(self, sha256: str) -> int | None:
        head = self._head(sha256)
        return None if head is None else int(head["ContentLength"])

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            if not self.exists(sha256):
                raise BlobMissing(sha256)
            return iter(())
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(sha256)}
        if start > 0 or end is not None:
            # An empty object has no byte to name: S3 refuses any Range on it.
            request["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            body = self.client.get_object(**request)["Body"]
        except self._client_error as exc:
            if _is_missing(exc):
                raise BlobMissing(sha256) from None
            raise
        return _chunks(body)

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def local_path(self, sha256: str) -> Path | None:
        return None


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def open_s3_store(
    *,
    bucket: str,
    endpoint: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    prefix: str,
    spool_dir: Path,
) -> S3BlobStore:
    """Connect and make sure the bucket exists (creating it if allowed); any problem is a
    BlobStoreUnavailable naming the setting to look at."""
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise BlobStoreUnavailable(
            "ROBOFLEET_BLOB_STORE=s3 needs boto3: pip install 'robofleet[s3]'"
        ) from None
    client = boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=region,
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10),
    )
    where = f"bucket '{bucket}' at {endpoint or 'AWS'} (ROBOFLEET_S3_*)"
    try:
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if not _is_missing(exc):
                raise
            extra = {} if region == "us-east-1" else {"LocationConstraint": region}
            client.create_bucket(
                Bucket=bucket, **({"CreateBucketConfiguration": extra} if extra else {})
            )
    except (ClientError, BotoCoreError) as exc:
        raise BlobStoreUnavailable(f"the S3 {where} cannot be used: {exc}") from None
    return S3BlobStore(client, bucket, prefix=prefix, spool_dir=spool_dir)
