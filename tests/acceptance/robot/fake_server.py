"""A stand-in for the server's robot protocol, served through httpx.MockTransport, that
records every call in order so tests can check the agent's sequence of calls."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

FINAL = {3, 4, 5, 7}


@dataclass
class FakeServer:
    package: bytes
    file_name: str = "main.py"
    parameters: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    job_guid: str = field(default_factory=lambda: str(uuid.uuid4()))
    version_guid: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: int = 1
    heartbeat_code: int = 0
    final_failures: int = 0
    """How many final reports to answer with 503 before accepting one."""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    handed_out: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        with self.lock:
            self.calls.append((path, body))
        if path == "/api/robot/heartbeat":
            code = self.heartbeat_code if body.get("JobGUID") else 0
            return httpx.Response(200, json={"HeartbeatErrorCode": code, "Active": 1})
        if path == "/api/robot/waitJob":
            return self._wait_job()
        if path == "/api/job/update":
            return self._update(body)
        if path == "/api/log/batch":
            with self.lock:
                self.logs.extend(body["Lines"])
            return httpx.Response(200, json={"count": len(body["Lines"])})
        if path.startswith("/api/processVersion/download/"):
            digest = hashlib.sha256(self.package).hexdigest()
            return httpx.Response(200, content=self.package, headers={"X-Sha256": digest})
        if path.startswith("/api/job/read/"):
            return httpx.Response(200, json={"guid": self.job_guid, "status": self.status})
        return httpx.Response(404, json={"code": "not_found", "message": path})

    def _wait_job(self) -> httpx.Response:
        with self.lock:
            hand_out = not self.handed_out
            self.handed_out = True
        if not hand_out:
            time.sleep(0.05)  # the real server would hold the request
            return httpx.Response(200, json={"ConsumeJobErrorCode": 102, "ErrorText": "no job"})
        job = {"GUID": self.job_guid, "Status": 1, "Parameters": self.parameters}
        job["ProcessName"] = "invoices"
        version = {
            "GUID": self.version_guid,
            "Name": self.file_name,
            "FileName": self.file_name,
            "Sha256": self.sha256 or hashlib.sha256(self.package).hexdigest(),
        }
        reply = {"ConsumeJobErrorCode": 0, "Job": json.dumps(job)}
        reply.update({"ProcessVersion": json.dumps(version), "Task": ""})
        return httpx.Response(200, json=reply)

    def _update(self, body: dict[str, Any]) -> httpx.Response:
        status = body.get("Status")
        with self.lock:
            if status in FINAL and self.final_failures > 0:
                self.final_failures -= 1
                return httpx.Response(503, json={"code": "unavailable", "message": "restarting"})
            if status == 8 and self.status != 1:
                body = {"code": "invalid_transition", "message": "not pending"}
                return httpx.Response(409, json=body)
            if status is not None:
                self.status = status
        return httpx.Response(200, json=[])

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.calls]

    def updates(self) -> list[dict[str, Any]]:
        with self.lock:
            return [body for path, body in self.calls if path == "/api/job/update"]

    def final(self) -> dict[str, Any] | None:
        finals = [u for u in self.updates() if u.get("Status") in FINAL]
        return finals[-1] if finals else None

    def wait_until(self, predicate: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out; calls so far: {self.paths()}")
