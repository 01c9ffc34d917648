"""The robot protocol's answers and errors (docs/robot-protocol.md); its codes are in
robofleet.contract."""

from __future__ import annotations

import json
import socket
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from robofleet.contract import ConsumeCode


class ServerRefused(Exception):
    """The server answered 4xx: repeating the same request will not help."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ServerRefused:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return cls(response.status_code, str(body.get("code", "")), str(body.get("message")))
        return cls(response.status_code, "", response.text[:500])


class Unreachable(Exception):
    """The request did not get through (network error or 5xx) before we stopped trying."""

    def __init__(self, problem: str, *, cancelled: bool = False) -> None:
        super().__init__(problem)
        self.cancelled = cancelled


class Throttled(Unreachable):
    """The server refused the request for now (429): send it again after `retry_after`
    seconds, unchanged (the server stored none of it)."""

    def __init__(self, problem: str, retry_after: float) -> None:
        super().__init__(problem)
        self.retry_after = retry_after

    @staticmethod
    def seconds(response: httpx.Response, default: float) -> float:
        """The response's Retry-After in seconds (the number form), else `default`."""
        try:
            return min(max(float(response.headers.get("retry-after", "")), 0.0), 3600.0)
        except ValueError:
            return default


class ChecksumMismatch(Exception):
    """Downloaded or cached bytes whose SHA-256 differs from the one announced."""


@dataclass(frozen=True)
class HeartbeatReply:
    error_code: int
    error_text: str
    has_new_job: bool
    active: bool
    command: str


@dataclass(frozen=True)
class Assignment:
    """consumeNextJob's (and waitJob's) answer, its JSON-in-strings decoded."""

    code: int
    error_text: str
    job: dict[str, Any]
    process_version: dict[str, Any]
    task: str

    @classmethod
    def from_reply(cls, data: dict[str, Any]) -> Assignment:
        code = int(data.get("ConsumeJobErrorCode", ConsumeCode.NO_NEW_JOB))
        try:
            job = _document(data.get("Job", ""))
            version = _document(data.get("ProcessVersion", ""))
        except ValueError as exc:
            raise ServerRefused(200, "bad_response", f"Job is not JSON: {exc}") from None
        task = data.get("Task", "") or ""
        return cls(
            code=code,
            error_text=str(data.get("ErrorText", "")),
            job=job,
            process_version=version,
            task=task if isinstance(task, str) else json.dumps(task),
        )


def update_body(
    guid: str,
    status: int | None = None,
    progress: int | None = None,
    return_value: Any = None,
    message: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"Guid": guid}
    if status is not None:
        body["Status"] = status
    if progress is not None:
        body["Progress"] = progress
    if return_value is not None:
        # Sent as JSON text: the server parses text, so a string result stays a string.
        body["ReturnValue"] = json.dumps(return_value)
    if message is not None:
        body["Message"] = message[:10_000]
    return body


def _document(value: object) -> dict[str, Any]:
    if isinstance(value, str) and value.strip():
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def machine_fields(server: str) -> dict[str, str]:
    """What a heartbeat says about the machine: its name, IP and MAC address."""
    return {"Machine": socket.gethostname(), "IP": _local_ip(server), "MAC": _mac()}


def _local_ip(server: str) -> str:
    """The address this machine uses to reach the server (no packet is sent)."""
    parts = urlsplit(server)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((parts.hostname or "127.0.0.1", parts.port or 80))
            return str(probe.getsockname()[0])
    except OSError:
        return ""


def _mac() -> str:
    node = uuid.getnode()
    if node >> 40 & 1:  # multicast bit: a random number, not a real MAC
        return ""
    return ":".join(f"{node >> shift & 0xFF:02x}" for shift in range(40, -1, -8))
