"""The web application's pages with a big fleet: server time to render /robots and /.

A fresh SQLite data directory is filled through the API (1,000 robots by default, in groups,
with queues, tasks and jobs for the overview), a tenant signs in through the web sign-in, and
each page is asked for `--requests` times. The server time of a request is measured inside
the process, around the ASGI application (from the request's arrival to the last byte of its
answer), so the client's own work does not count; the round trip is reported beside it.

    .venv/bin/python -m bench.web_pages [--web-robots 1000] [--web-requests 50]

Also part of the suite: `python -m bench --only web` (or `--with-web`).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from bench.common import load_average, percentile
from robofleet.server.app import create_app
from robofleet.server.settings import Settings
from robofleet.server.startup import prepare

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ADMIN_KEY = str(uuid.uuid4())
PASSWORD = "bench-web-password-1"
PAGES = (
    ("/robots (50 rows)", "/robots?size=50"),
    ("/robots (200 rows)", "/robots?size=200"),
    ("/ (overview)", "/"),
)
GROUPS = 10
QUEUES = 5
TASKS_PER_QUEUE = 50
JOBS = 40


class ServerTimer:
    """ASGI middleware noting each HTTP request's time inside the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ms = (time.perf_counter() - started) * 1000

        await self.app(scope, receive, timed_send)


def seed(client: TestClient, robots: int) -> str:
    """A tenant with `robots` robots in GROUPS groups, queues with tasks, and jobs; its login."""
    login = f"web-{uuid.uuid4().hex[:8]}"
    made = client.post(
        "/api/account/create", json={"Login": login, "Password": PASSWORD}
    ).raise_for_status()
    key = made.json()["api_key"]
    headers = {"Key": key}
    groups = [
        client.post("/api/robotGroup/create", json={"Name": f"group-{g}"}, headers=headers)
        .raise_for_status()
        .json()["GUID"]
        for g in range(GROUPS)
    ]
    guids = []
    for n in range(robots):
        body = {
            "Name": f"robot-{n:05d}",
            "Description": f"bench robot {n}",
            "Type": "Attended" if n % 4 == 0 else "Unattended",
            "Groups": [groups[n % GROUPS]],
        }
        created = client.post("/api/robot/create", json=body, headers=headers).raise_for_status()
        guids.append(created.json()["GUID"])
    for n, guid in enumerate(guids[: robots // 2]):
        client.put(
            "/api/robot/setStatus", json={"GUID": guid, "Status": 2 + n % 2}, headers=headers
        ).raise_for_status()
    for q in range(QUEUES):
        queue = f"queue-{q}"
        client.post("/api/queue/create", json={"Name": queue}, headers=headers).raise_for_status()
        client.post(
            "/api/task/bulkCreate",
            json={"Queue": queue, "Tasks": [{"Name": f"t{q}-{i}"} for i in range(TASKS_PER_QUEUE)]},
            headers=headers,
        ).raise_for_status()
    process = client.post(
        "/api/process/create", json={"Name": "bench-process"}, headers=headers
    ).raise_for_status()
    process_guid = process.json()["guid"]
    client.post(
        "/api/processVersion/create",
        data={"ProcessGuid": process_guid, "MakeCurrent": "1"},
        files={"ProcessFile": ("main.py", b"print('hi')\n", "application/octet-stream")},
        headers=headers,
    ).raise_for_status()
    for _ in range(JOBS):
        client.post(
            "/api/job/create", json={"Process": process_guid}, headers=headers
        ).raise_for_status()
    return login


def sign_in(client: TestClient, login: str) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None, "no CSRF token on the sign-in form"
    done = client.post(
        "/login",
        data={"login": login, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text[:500]
    assert "robofleet_session" in client.cookies


def measure(robots: int, requests: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        settings = Settings(
            data_dir=Path(folder) / "data",
            api_key=ADMIN_KEY,
            admin_password="bench-admin-password",
            secret_key="bench-web-signing-secret-" + "0123456789abcdef" * 4,
            scheduler_enabled=False,
        )
        prepare(settings)
        timer = ServerTimer(create_app(settings))
        with TestClient(timer, headers={"Key": ADMIN_KEY}) as admin:
            started = time.monotonic()
            login = seed(admin, robots)
            print(f"   seeded {robots} robots in {time.monotonic() - started:.1f} s", flush=True)
        with TestClient(timer) as browser:
            sign_in(browser, login)
            rows = []
            for name, path in PAGES:
                for _ in range(3):  # warm-up: templates compiled, caches filled
                    browser.get(path).raise_for_status()
                server: list[float] = []
                round_trip: list[float] = []
                for _ in range(requests):
                    began = time.perf_counter()
                    answer = browser.get(path)
                    round_trip.append((time.perf_counter() - began) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
                    server.append(timer.last_ms)
                rows.append(
                    {
                        "store": "sqlite",
                        "page": name,
                        "robots": robots,
                        "requests": requests,
                        "server_p50_ms": round(statistics.median(server), 1),
                        "server_p95_ms": round(percentile(server, 95), 1),
                        "round_trip_p50_ms": round(statistics.median(round_trip), 1),
                        "bytes": len(answer.content),
                        "load_average": load_average(),
                    }
                )
            return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--web-robots", type=int, default=1000, help="web pages: robots")
    parser.add_argument("--web-requests", type=int, default=50, help="web pages: requests each")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web_pages", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args()
    rows = measure(args.web_robots, args.web_requests)
    print("| page | robots | server p50 ms | server p95 ms | round trip p50 ms | bytes |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['page']} | {row['robots']} | {row['server_p50_ms']} | "
            f"{row['server_p95_ms']} | {row['round_trip_p50_ms']} | {row['bytes']:,} |"
        )


if __name__ == "__main__":
    main()
