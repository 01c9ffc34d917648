"""The storage upload limit (413) and the blob store's start-up checks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.s3 import MotoServer
from tests.support.server import ServerProcess, free_port

LIMIT = 4096


def test_uploads_over_the_storage_limit_are_413_and_leave_nothing(tmp_path: Path) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "data", env={"ROBOFLEET_STORAGE_MAX_UPLOAD_BYTES": str(LIMIT)}
    ).start()
    try:
        with server.client() as api:
            raw = api.put("/api/files/upload", params={"name": "big"}, content=b"x" * (LIMIT + 1))
            assert raw.status_code == 413

            def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
                for _ in range(4):
                    yield b"y" * 2000

            streamed = api.put("/api/files/upload", params={"name": "big"}, content=chunks())
            assert streamed.status_code == 413
            multipart = api.post(
                "/api/files/create",
                data={"Name": "big"},
                files={"File": ("big", b"z" * (LIMIT + 1), "application/octet-stream")},
            )
            assert multipart.status_code == 413
            text = api.post("/api/files/create", json={"Name": "big", "File": "ab" * (LIMIT + 1)})
            assert text.status_code == 413
            assert text.json()["details"][0]["field"] == "File"
            assert api.put(
                "/api/files/upload", params={"name": "ok"}, content=b"x" * LIMIT
            ).is_success
            assert [f["name"] for f in api.get("/api/files/list").json()] == ["ok"]
        leftovers = [
            p for p in (tmp_path / "data" / "blobs").rglob("*") if p.name.startswith(".upload-")
        ]
        assert leftovers == []
    finally:
        server.stop()


def start_server(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "robofleet",
            "server",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path),
        ],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_s3_settings_are_checked_at_start_and_the_secret_is_never_shown(tmp_path: Path) -> None:
    secret = "do-not-print-this-secret"
    no_bucket = start_server(
        tmp_path, {"ROBOFLEET_BLOB_STORE": "s3", "ROBOFLEET_S3_SECRET_ACCESS_KEY": secret}
    )
    assert no_bucket.returncode == 2
    assert "ROBOFLEET_S3_BUCKET" in no_bucket.stderr
    unreachable = start_server(
        tmp_path,
        {
            "ROBOFLEET_BLOB_STORE": "s3",
            "ROBOFLEET_S3_BUCKET": "robofleet",
            "ROBOFLEET_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
            "ROBOFLEET_S3_ACCESS_KEY_ID": "id",
            "ROBOFLEET_S3_SECRET_ACCESS_KEY": secret,
        },
    )
    assert unreachable.returncode == 2
    assert "cannot start" in unreachable.stderr and "bucket 'robofleet'" in unreachable.stderr
    invalid = start_server(
        tmp_path,
        {
            "ROBOFLEET_S3_SECRET_ACCESS_KEY": secret,
            "ROBOFLEET_S3_REGION": "",
            "ROBOFLEET_BLOB_STORE": "s3",
        },
    )
    assert invalid.returncode == 2
    for result in (no_bucket, unreachable, invalid):
        assert secret not in result.stderr + result.stdout


def test_a_missing_bucket_is_created_at_start(tmp_path: Path, moto: MotoServer) -> None:
    env = moto.server_env(bucket="made-at-start")
    server = ServerProcess(data_dir=tmp_path / "data", env=env).start()
    try:
        with server.client() as api:
            assert api.put("/api/files/upload", params={"name": "f"}, content=b"data").is_success
        listing = httpx.get(f"{moto.url}/made-at-start?list-type=2")
        assert "blobs/" in listing.text  # the prefix holds the blob
    finally:
        server.stop()
