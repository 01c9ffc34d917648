"""A small JSON client over urllib (the SDK is standard library only).

Credentials: inside a robot, the robot's GUID (the agent sets ROBOFLEET_ROBOT_GUID) and its
secret when it has one (ROBOFLEET_ROBOT_SECRET); outside one, an API key in ROBOFLEET_API_KEY.
The server is ROBOFLEET_SERVER: one URL, or several nodes' URLs separated by commas; a call
goes to the one that answered last and moves to the next on a network error or a
502/503/504 (backing off only once every server failed in turn).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from robofleet.contract import (
    API_KEY_VARIABLE,
    FAILOVER_STATUSES,
    JobEnv,
    robot_authorization,
    server_urls,
)
from robofleet.sdk import context

RETRIES = 4
MAX_WAIT = 60.0
"""The longest a call waits for a 429's Retry-After before trying again."""


class RobofleetError(Exception):
    """The server refused a call; `status` and `code` say why, `message` in words."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class NotConfigured(RobofleetError):
    def __init__(self, what: str) -> None:
        super().__init__(0, "not_configured", what)


_answered: str | None = None
"""The server that answered this process last: calls start there."""


def servers() -> list[str]:
    """ROBOFLEET_SERVER's URLs, the one that answered last first."""
    text = context.server_url()
    if not text:
        raise NotConfigured(f"no server: run inside a robot or set {JobEnv.SERVER}")
    try:
        urls = server_urls(text)
    except ValueError as exc:
        raise NotConfigured(f"{JobEnv.SERVER}: {exc} (got {text!r})") from None
    if _answered in urls:
        at = urls.index(_answered)
        urls = urls[at:] + urls[:at]
    return urls


def answered(server: str) -> None:
    global _answered
    _answered = server


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    robot = context.robot_guid()
    key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if robot:
        headers["Authorization"] = robot_authorization(robot, context.robot_secret())
    elif key:
        headers["Key"] = key
    else:
        raise NotConfigured(f"no credentials: run inside a robot or set {API_KEY_VARIABLE}")
    return headers


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    timeout: float = 60,
    headers: dict[str, str] | None = None,
) -> Any:
    """One API call; network errors and 5xx are retried a few times with back-off, each
    retry the same request (with the same `headers`, e.g. an Idempotency-Key). A 429 (the
    server stored nothing) is retried after its Retry-After, up to a minute each time."""
    urls = servers()
    data = json.dumps(body).encode() if body is not None else None
    delay = 0.5
    for attempt in range(RETRIES + 1):
        throttled = False
        # One round: each server at most once, the next at once when one is gone.
        for index, server in enumerate(urls):
            last_of_round = index == len(urls) - 1
            url = server + path  # http(s) only, checked by servers()
            sent = {**_headers(), **(headers or {})}
            request = urllib.request.Request(url, data, sent, method=method)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                    raw = response.read()
                    answered(server)
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                if exc.code == 429 and attempt < RETRIES:
                    time.sleep(_retry_after(exc, delay))
                    throttled = True
                    break
                if exc.code in FAILOVER_STATUSES and not last_of_round:
                    continue
                if exc.code < 500 or attempt == RETRIES:
                    raise _error(exc) from None
                break
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if not last_of_round:
                    continue
                if attempt == RETRIES:
                    raise
                break
        if throttled:
            continue
        time.sleep(delay)
        delay = min(delay * 2, 8)
    raise AssertionError("unreachable")


def _retry_after(exc: urllib.error.HTTPError, default: float) -> float:
    try:
        return min(max(float(exc.headers.get("Retry-After", "")), 0.0), MAX_WAIT)
    except ValueError:
        return default


def _error(exc: urllib.error.HTTPError) -> RobofleetError:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    return RobofleetError(
        exc.code, str(body.get("code", "http_error")), str(body.get("message", exc.reason))
    )
