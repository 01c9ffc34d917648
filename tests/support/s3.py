"""A real S3-compatible server (moto's) on 127.0.0.1, for the S3 blob store's tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.server import free_port


@dataclass
class MotoServer:
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> MotoServer:
        executable = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        command = [executable] if executable else [sys.executable, "-m", "moto.server"]
        self.process = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/moto-api/", timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"moto_server did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def server_env(self, bucket: str | None = None) -> dict[str, str]:
        """The settings of a Robofleet server that keeps its blobs here (a fresh bucket,
        which the server creates at start)."""
        return {
            "ROBOFLEET_BLOB_STORE": "s3",
            "ROBOFLEET_S3_ENDPOINT": self.url,
            "ROBOFLEET_S3_BUCKET": bucket or f"robofleet-{uuid.uuid4().hex[:12]}",
            "ROBOFLEET_S3_REGION": "us-east-1",
            "ROBOFLEET_S3_ACCESS_KEY_ID": "testing",
            "ROBOFLEET_S3_SECRET_ACCESS_KEY": "testing-secret",
            "ROBOFLEET_S3_PREFIX": "blobs/",
        }
