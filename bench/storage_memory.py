"""Storage: the server's peak memory and the throughput of a 2 GiB upload and download.

A real server (local folder store by default; `--store s3` keeps blobs in a moto S3 server
started on 127.0.0.1). The file is written block by block; the upload streams it as the raw
body of PUT /api/files/upload, the download streams GET /api/files/download to a file, both
in 1 MiB blocks over http.client. psutil samples the resident memory of the server process
(and its children) every 20 ms; the SHA-256 of the download is compared with the upload's.

    .venv/bin/python -m bench.storage_memory [--size-mib 2048] [--store local|s3]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.common import Server, free_port

BLOCK = 1024 * 1024
MIB = 1024 * 1024


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = 0
        for proc in (self.process, *self.process.children(recursive=True)):
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def write_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    base = bytes(range(256)) * (BLOCK // 256)
    with path.open("wb") as out:
        for number in range(size // BLOCK):
            block = number.to_bytes(8, "big") + base[8:]
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def connection(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=600, blocksize=BLOCK)


def upload(server: Server, path: Path) -> dict[str, object]:
    conn = connection(server)
    headers = {
        "Key": server.key,
        "Content-Type": "application/octet-stream",
        "Content-Length": str(path.stat().st_size),
    }
    with path.open("rb") as body:
        conn.request("PUT", "/api/files/upload?name=big.bin&folder=", body, headers)
        response = conn.getresponse()
        raw = response.read()
    if response.status != 200:
        raise RuntimeError(f"upload failed: {response.status} {raw[:300]!r}")
    row: dict[str, object] = json.loads(raw)
    return row


def download(server: Server, target: Path) -> str:
    conn = connection(server)
    conn.request("GET", "/api/files/download/big.bin", headers={"Key": server.key})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"download failed: {response.status}")
    digest = hashlib.sha256()
    with target.open("wb") as out:
        while block := response.read(BLOCK):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    process = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    time.sleep(2)
    return process, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--store", choices=["local", "s3"], default="local")
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="robofleet-bench-storage-") as tmp:
        work = Path(tmp)
        env: dict[str, str] = {}
        moto = None
        if args.store == "s3":
            moto, endpoint = start_moto(work / "moto.log")
            env = {
                "ROBOFLEET_BLOB_STORE": "s3",
                "ROBOFLEET_S3_ENDPOINT": endpoint,
                "ROBOFLEET_S3_BUCKET": "bench",
                "ROBOFLEET_S3_ACCESS_KEY_ID": "bench",
                "ROBOFLEET_S3_SECRET_ACCESS_KEY": "bench-secret",
            }
        server = Server(work / "data", env=env).start()
        try:
            assert server.process is not None
            source = work / "big.bin"
            expected = write_file(source, size)
            idle = PeakRss(server.process.pid).rss()
            with PeakRss(server.process.pid) as up_memory:
                started = time.perf_counter()
                row = upload(server, source)
                up_seconds = time.perf_counter() - started
            assert row["sha256"] == expected, row
            source.unlink()
            with PeakRss(server.process.pid) as down_memory:
                started = time.perf_counter()
                got = download(server, work / "back.bin")
                down_seconds = time.perf_counter() - started
            assert got == expected, "the download's SHA-256 differs from the upload's"
        finally:
            server.stop()
            if moto is not None:
                moto.terminate()
                moto.wait()
    print(f"store {args.store}, file {args.size_mib} MiB, SHA-256 equal after the round trip")
    print(f"server RSS idle:              {idle / MIB:8.1f} MiB")
    print(f"server peak RSS, upload:      {up_memory.peak / MIB:8.1f} MiB")
    print(f"server peak RSS, download:    {down_memory.peak / MIB:8.1f} MiB")
    print(
        f"upload throughput:            {size / MIB / up_seconds:8.1f} MiB/s ({up_seconds:.1f} s)"
    )
    print(
        f"download throughput:          {size / MIB / down_seconds:8.1f} MiB/s "
        f"({down_seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
