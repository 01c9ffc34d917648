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
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.big_files import PeakMemory, write_big_file
from tests.support.s3 import MotoServer

from bench.common import Server, load_average

BLOCK = 1024 * 1024
MIB = 1024 * 1024


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


def measure(size_mib: int, store: str) -> dict[str, Any]:
    """Peak server RSS and throughput of one upload and download of `size_mib` MiB."""
    size = size_mib * MIB
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="robofleet-bench-storage-") as tmp:
        work = Path(tmp)
        env: dict[str, str] = {}
        moto = None
        if store == "s3":
            moto = MotoServer(work / "moto.log").start()
            env = moto.server_env("bench")
        server = Server(work / "data", env=env).start()
        try:
            assert server.process is not None
            source = work / "big.bin"
            expected = write_big_file(source, size)
            idle = PeakMemory(server.process.pid, interval=0.02).rss()
            with PeakMemory(server.process.pid, interval=0.02) as up_memory:
                started = time.perf_counter()
                row = upload(server, source)
                up_seconds = time.perf_counter() - started
            assert row["sha256"] == expected, row
            source.unlink()
            with PeakMemory(server.process.pid, interval=0.02) as down_memory:
                started = time.perf_counter()
                got = download(server, work / "back.bin")
                down_seconds = time.perf_counter() - started
            assert got == expected, "the download's SHA-256 differs from the upload's"
        finally:
            server.stop()
            if moto is not None:
                moto.stop()
    return {
        "size_mib": size_mib,
        "idle_rss_mib": round(idle / MIB, 1),
        "upload_peak_rss_mib": round(up_memory.peak / MIB, 1),
        "download_peak_rss_mib": round(down_memory.peak / MIB, 1),
        "upload_mib_per_s": round(size / MIB / up_seconds, 1),
        "download_mib_per_s": round(size / MIB / down_seconds, 1),
        "load_average": max(load, load_average()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--store", choices=["local", "s3"], default="local")
    args = parser.parse_args()
    result = measure(args.size_mib, args.store)
    print(f"store {args.store}, file {args.size_mib} MiB, SHA-256 equal after the round trip")
    print(f"server RSS idle:              {result['idle_rss_mib']:8.1f} MiB")
    print(f"server peak RSS, upload:      {result['upload_peak_rss_mib']:8.1f} MiB")
    print(f"server peak RSS, download:    {result['download_peak_rss_mib']:8.1f} MiB")
    print(f"upload throughput:            {result['upload_mib_per_s']:8.1f} MiB/s")
    print(f"download throughput:          {result['download_mib_per_s']:8.1f} MiB/s")


if __name__ == "__main__":
    main()
