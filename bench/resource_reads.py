"""Credential reads and key rotation through a real server.

A robot reads credentials by name (scope resolution, then AES-GCM decryption) one after
another over a keep-alive connection: latency per read. Then `robofleet secrets rotate`
runs as a separate process over every secret while the robot keeps reading: how long the
rotation takes, and the reads' latency meanwhile (every read must still succeed).

    .venv/bin/python -m bench.resource_reads [--secrets 2000] [--reads 2000]
        [--store sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import (
    Client,
    Server,
    ServerMeter,
    create_pg_database,
    drop_pg_database,
    load_average,
    summary,
)

SECRET = "bench-secret-" + "0123456789abcdef" * 4


def _robot_client(server: Server, robot: str) -> Client:
    auth = base64.b64encode(robot.encode()).decode()
    return Client(server.url, headers={"Authorization": f"Basic {auth}"})


def run(store: str, secrets: int, reads: int) -> dict[str, Any]:
    """Read latency quiet and during a rotation, with the server's CPU per quiet read."""
    url = create_pg_database() if store == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data", url, env={"ROBOFLEET_SECRET_KEY": SECRET}).start()
        try:
            api = Client(server.url, server.key)
            robot = api.post("/api/robot/create", {"Name": "bench-bot"})[1]["GUID"]
            names = [f"cred-{n}" for n in range(secrets)]
            started = time.perf_counter()
            for name in names:
                body = {"Name": name, "Type": 1, "Text": "u", "Password": uuid.uuid4().hex}
                status, _ = api.post("/api/asset/create", body)
                assert status == 200
            created = time.perf_counter() - started
            reader = _robot_client(server, robot)
            latencies = []
            load = load_average()
            with ServerMeter(server) as meter:
                for number in range(reads):
                    t0 = time.perf_counter()
                    status, _ = reader.get(f"/api/asset/read/{names[number % secrets]}")
                    latencies.append((time.perf_counter() - t0) * 1000)
                    assert status == 200
            quiet = summary(latencies)

            during: list[float] = []
            failures = []
            done = threading.Event()

            def keep_reading() -> None:
                client = _robot_client(server, robot)
                number = 0
                while not done.is_set():
                    t0 = time.perf_counter()
                    status, _ = client.get(f"/api/asset/read/{names[number % secrets]}")
                    during.append((time.perf_counter() - t0) * 1000)
                    if status != 200:
                        failures.append(status)
                    number += 1

            thread = threading.Thread(target=keep_reading, daemon=True)
            thread.start()
            env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOFLEET_")}
            env.update({"ROBOFLEET_SECRET_KEY": SECRET, "ROBOFLEET_DATA_DIR": str(server.data_dir)})
            if url:
                env["ROBOFLEET_DATABASE_URL"] = url.replace(
                    "postgresql://", "postgresql+psycopg://"
                )
            t0 = time.perf_counter()
            rotation = subprocess.run(
                [sys.executable, "-m", "robofleet", "secrets", "rotate"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            rotated = time.perf_counter() - t0
            done.set()
            thread.join()
            assert "finished" in rotation.stdout and not failures, (rotation.stdout, failures)
            busy = summary(during)
            result = {
                "reads_per_s": round(reads / meter.seconds, 1),
                "read_p50_ms": round(quiet["p50"], 2),
                "read_p95_ms": round(quiet["p95"], 2),
                **meter.figures(reads),
                "rotation_s": round(rotated, 2),
                "during_rotation_p50_ms": round(busy["p50"], 2),
                "during_rotation_max_ms": round(busy["max"], 1),
                "load_average": max(load, load_average()),
            }
            print(
                f"{store}: {secrets} credentials created in {created:.1f}s "
                f"({secrets / created:.0f}/s); robot read by name p50 {quiet['p50']:.2f} ms, "
                f"p95 {quiet['p95']:.2f} ms; rotation of {secrets} secrets (CLI process, "
                f"incl. start-up) {rotated:.2f}s; {len(during)} reads during it, 0 failed, "
                f"p50 {busy['p50']:.2f} ms, p95 {busy['p95']:.2f} ms, max {busy['max']:.1f} ms",
                file=sys.stderr,
            )
        finally:
            server.stop()
            if url:
                drop_pg_database(url)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secrets", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for store in ("sqlite", "postgresql") if args.store == "both" else (args.store,):
        print(json.dumps({"store": store, **run(store, args.secrets, args.reads)}))


if __name__ == "__main__":
    main()
