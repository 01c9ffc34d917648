"""A small JSON client over urllib (the SDK is standard library only).

Credentials: inside a robot, the robot's GUID (the agent sets ROBOFLEET_ROBOT_GUID) and its
secret when it has one (ROBOFLEET_ROBOT_SECRET); outside one, an API key in ROBOFLEET_API_KEY.
The server is ROBOFLEET_SERVER.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from robofleet.contract import API_KEY_VARIABLE, JobEnv, robot_authorization
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
    server = context.server_url()
    if not server:
        raise NotConfigured(f"no server: run inside a robot or set {JobEnv.SERVER}")
    if not server.startswith(("http://", "https://")):
        raise NotConfigured(f"{JobEnv.SERVER} must be an http(s) URL, not {server!r}")
    data = json.dumps(body).encode() if body is not None else None
    delay = 0.5
    for attempt in range(RETRIES + 1):
        url = server.rstrip("/") + path  # http(s) only, checked above
        sent = {**_headers(), **(headers or {})}
        request = urllib.request.Request(url, data, sent, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            if exc.code == 429 and attempt < RETRIES:
                time.sleep(_retry_after(exc, delay))
                continue
            if exc.code < 500 or attempt == RETRIES:
                raise _error(exc) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == RETRIES:
                raise
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
