"""A small typed HTTP client for the robot protocol (docs/robot-protocol.md).

Network errors and 5xx answers are retried with exponential back-off; 4xx answers are not
(they raise ServerRefused). Each thread of the agent uses its own client. With several servers
(robot.servers), a network error or a 502/503/504 moves the call to the next one at once; the
back-off starts when every server failed in turn.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from robofleet import __version__
from robofleet.contract import (
    FAILOVER_STATUSES,
    Api,
    HeartbeatCode,
    RobotStatus,
    robot_authorization,
)
from robofleet.robot.files import replace, sha256_file, temp_path_beside
from robofleet.robot.interruptible import Interrupted, SocketWatch, until_stopped
from robofleet.robot.protocol import (
    Assignment,
    ChecksumMismatch,
    HeartbeatReply,
    ServerRefused,
    Throttled,
    Unreachable,
    machine_fields,
    update_body,
)
from robofleet.robot.servers import ServerList

log = logging.getLogger(__name__)

FIRST_DELAY, MAX_DELAY = 0.5, 10.0
_RETRYABLE = {408, 429}


class RobotClient:
    """Authenticates as the robot: its GUID, with its `secret` when it has one.

    `retry` on every call: seconds to keep trying (0: one attempt), or None to keep trying
    until the request gets through or `cancel` is set (then after at least one attempt)."""

    def __init__(
        self,
        server: str | ServerList,
        robot_guid: str,
        *,
        secret: str | None = None,
        cancel: threading.Event | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # Requests name the whole URL: the server they go to changes when one fails.
        self.servers = server if isinstance(server, ServerList) else ServerList.parse(server)
        self.robot_guid = robot_guid
        self.cancel = cancel or threading.Event()
        self._http = httpx.Client(
            headers={
                "Authorization": robot_authorization(robot_guid, secret),
                "User-Agent": f"robofleet-robot/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=10.0),
            # httpx closes an idle connection after 5 s, the heartbeat's own interval: most
            # calls would open a new one (TCP, and TLS in production). The server keeps its
            # side 75 s (ROBOFLEET_KEEP_ALIVE_SECONDS), so the client lets go first.
            limits=httpx.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=60.0
            ),
            transport=transport,
        )
        self._failing = False
        self._machine: dict[str, str] | None = None
        # The waitJob long poll has a client of its own, whose connection a stop shuts down.
        self._transport = transport
        self._long_poll: httpx.Client | None = None
        self._long_poll_watch = SocketWatch()
        self._long_poll_busy = threading.Lock()

    def close(self) -> None:
        self._http.close()
        # A poll abandoned on a platform where the shutdown did not wake it still reads.
        if self._long_poll is not None and not self._long_poll_busy.locked():
            self._long_poll.close()

    def __enter__(self) -> RobotClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def server(self) -> str:
        """The server in use now."""
        return self.servers.current

    def heartbeat(
        self,
        status: int,
        job_guid: str | None = None,
        job_name: str | None = None,
        *,
        retry: float | None = None,
    ) -> HeartbeatReply:
        body = {
            "RobotGUID": self.robot_guid,
            **self._machine_fields(),
            "Status": status,
            "JobGUID": job_guid or "",
            "JobName": job_name or "",
            "JobType": 1,
            "Version": __version__,
        }
        data = self._json(self._call("POST", Api.ROBOT_HEARTBEAT, body=body, retry=retry))
        return HeartbeatReply(
            error_code=int(data.get("HeartbeatErrorCode", HeartbeatCode.OK)),
            error_text=str(data.get("ErrorText", "")),
            has_new_job=bool(data.get("HasNewJob", 0)),
            active=bool(data.get("Active", 1)),
            command=str(data.get("Command", "")),
        )

    def wait_job(self, timeout: float, *, retry: float | None = None) -> Assignment:
        body = {"RobotGUID": self.robot_guid, "Timeout": timeout}
        # The server holds the request up to `timeout`: read for longer than that. Setting
        # `cancel` ends the wait at once (robot.interruptible).
        response = self._call(
            "POST",
            Api.ROBOT_WAIT_JOB,
            body=body,
            retry=retry,
            timeout=timeout + 30.0,
            interruptible=True,
        )
        return Assignment.from_reply(self._json(response))

    def consume_next_job(self, *, retry: float | None = None) -> Assignment:
        body = {"RobotGUID": self.robot_guid, "Status": RobotStatus.READY}
        return Assignment.from_reply(
            self._json(self._call("POST", Api.ROBOT_CONSUME_NEXT_JOB, body=body, retry=retry))
        )

    def update_job(
        self,
        guid: str,
        status: int | None = None,
        progress: int | None = None,
        return_value: Any = None,
        message: str | None = None,
        *,
        retry: float | None = None,
    ) -> None:
        self._call(
            "PUT",
            Api.JOB_UPDATE,
            body=update_body(guid, status, progress, return_value, message),
            retry=retry,
        )

    def send_report(self, body: dict[str, Any], *, retry: float | None = None) -> None:
        """A job/update body as stored in the outbox."""
        self._call("PUT", Api.JOB_UPDATE, body=body, retry=retry)

    def send_logs(self, lines: list[dict[str, Any]], *, retry: float | None = 0) -> int:
        data = self._json(self._call("POST", Api.LOG_BATCH, body={"Lines": lines}, retry=retry))
        return int(data.get("count", len(lines)))

    def folder(self, parts: Sequence[str], *, retry: float | None = 0) -> str:
        """The GUID of the Storage folder `parts` (a path from the root), made as needed."""
        parent, path = "", []
        for part in parts:
            path.append(quote(part, safe=""))
            read = Api.FOLDERS_READ.format(ref="/".join(path))
            try:
                row = self._json(self._call("GET", read, retry=retry))
            except ServerRefused as exc:
                if exc.status_code != 404:
                    raise
                body = {"Name": part, **({"ParentGuid": parent} if parent else {})}
                try:
                    row = self._json(self._call("POST", Api.FOLDERS_CREATE, body=body, retry=retry))
                except ServerRefused as taken:  # made meanwhile by another agent
                    if taken.status_code != 409:
                        raise
                    row = self._json(self._call("GET", read, retry=retry))
            parent = str(row["guid"])
        return parent

    def upload_file(
        self, folder_guid: str, name: str, source: Path, *, retry: float | None = 0
    ) -> None:
        """Put a local file into a Storage folder (replacing one of the same name)."""
        self._call(
            "PUT",
            Api.FILES_UPLOAD,
            content=source.read_bytes(),
            params={"name": name, "folder": folder_guid},
            retry=retry,
        )

    def read_job(self, guid: str, *, retry: float | None = None) -> dict[str, Any]:
        return self._json(self._call("GET", Api.JOB_READ.format(guid=guid), retry=retry))

    def download_package(
        self, version_guid: str, dest: Path, expected_sha256: str, *, retry: float | None = None
    ) -> None:
        """Stream the package to `dest`, which appears only once its SHA-256 is verified."""
        expected = expected_sha256.strip().lower()
        deadline = None if retry is None else time.monotonic() + retry
        delay = FIRST_DELAY
        while True:
            temp = temp_path_beside(dest)
            server = self.servers.current
            try:
                path = Api.PROCESS_VERSION_DOWNLOAD.format(guid=version_guid)
                # Ask for the package the job was given: the version may be updated since.
                announced = self._stream_to(
                    server + path + (f"?sha256={expected}" if expected else ""), temp
                )
                actual = sha256_file(temp)
                if expected and actual != expected:
                    raise ChecksumMismatch(
                        f"package {version_guid}: SHA-256 {actual}, expected {expected}"
                    )
                if announced and announced != actual:
                    raise ChecksumMismatch(
                        f"package {version_guid}: SHA-256 {actual}, server announced {announced}"
                    )
                replace(temp, dest)
                return
            except (httpx.HTTPError, _Retryable) as exc:
                if isinstance(exc, httpx.TransportError) or (
                    isinstance(exc, _Retryable) and exc.status in FAILOVER_STATUSES
                ):
                    self._move_on(server, f"download failed: {exc}")
                self._give_up_or_pause(f"download failed: {exc}", retry, deadline, delay)
                delay = min(delay * 2, MAX_DELAY)
            finally:
                temp.unlink(missing_ok=True)

    def _stream_to(self, url: str, temp: Path) -> str:
        dest_dir = temp.parent
        dest_dir.mkdir(parents=True, exist_ok=True)
        with self._http.stream("GET", url, timeout=httpx.Timeout(60.0, connect=10.0)) as reply:
            if reply.status_code >= 400:
                reply.read()
                if reply.status_code >= 500 or reply.status_code in _RETRYABLE:
                    raise _Retryable(f"HTTP {reply.status_code}", reply.status_code)
                raise ServerRefused.from_response(reply)
            with temp.open("wb") as handle:
                for chunk in reply.iter_bytes(1 << 20):
                    handle.write(chunk)
            self._recovered()
            return str(reply.headers.get("X-Sha256", "")).strip().lower()

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        retry: float | None,
        timeout: float | None = None,
        interruptible: bool = False,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        deadline = None if retry is None else time.monotonic() + retry
        delay = FIRST_DELAY
        extra: dict[str, Any] = (
            {} if timeout is None else {"timeout": httpx.Timeout(timeout, connect=10.0)}
        )
        if content is not None:
            extra.update(content=content, headers={"Content-Type": "application/octet-stream"})
        if params is not None:
            extra["params"] = params
        tried = 0  # servers tried since the last pause
        while True:
            server = self.servers.current
            url = server + path
            try:
                if interruptible:
                    response = self._interruptible(method, url, body, extra)
                else:
                    response = self._http.request(method, url, json=body, **extra)
            except httpx.HTTPError as exc:
                problem = f"{method} {url}: {type(exc).__name__}: {exc}"
                node_failed = isinstance(exc, httpx.TransportError)
            else:
                status = response.status_code
                if status < 400:
                    self._recovered()
                    return response
                if status < 500 and status not in _RETRYABLE:
                    raise ServerRefused.from_response(response)
                problem = f"{method} {url}: HTTP {status}"
                node_failed = status in FAILOVER_STATUSES
                if status == 429:
                    # The server says when to come back: wait that long, not our backoff.
                    wait = Throttled.seconds(response, delay)
                    if deadline is not None and time.monotonic() + wait > deadline:
                        raise Throttled(problem, wait)
                    self._give_up_or_pause(problem, retry, deadline, wait)
                    continue
            if node_failed:
                self._move_on(server, problem)
                tried += 1
                if tried < len(self.servers):
                    continue  # the next server at once; back off once all failed in turn
            tried = 0
            self._give_up_or_pause(problem, retry, deadline, delay)
            delay = min(delay * 2, MAX_DELAY)

    def _interruptible(
        self, method: str, url: str, body: dict[str, Any] | None, extra: dict[str, Any]
    ) -> httpx.Response:
        """The request on the long-poll client, abandoned as soon as `cancel` is set."""
        if self._long_poll is None:
            self._long_poll = httpx.Client(
                headers=self._http.headers,
                timeout=self._http.timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=1),
            )
        client, watch = self._long_poll, self._long_poll_watch

        def send() -> httpx.Response:
            with self._long_poll_busy:
                return client.request(
                    method, url, json=body, extensions={"trace": watch.trace}, **extra
                )

        try:
            return until_stopped(self.cancel, send, watch.shut_down)
        except Interrupted:
            raise Unreachable(f"{method} {url}: abandoned to stop", cancelled=True) from None

    def _move_on(self, server: str, problem: str) -> None:
        """`server` failed: the next of the list takes the calls (all clients of the agent)."""
        if len(self.servers) == 1:
            return
        now = self.servers.failed(server)
        if now != server:
            log.warning("%s; moving to %s", problem, now)

    def _give_up_or_pause(
        self, problem: str, retry: float | None, deadline: float | None, delay: float
    ) -> None:
        if retry is None:
            if self.cancel.is_set():
                raise Unreachable(problem, cancelled=True)
        elif deadline is not None and time.monotonic() + delay > deadline:
            raise Unreachable(problem)
        if not self._failing:
            log.warning("server not reachable, retrying: %s", problem)
            self._failing = True
        else:
            log.debug("still not reachable: %s", problem)
        if retry is None:
            if self.cancel.wait(delay):
                raise Unreachable(problem, cancelled=True)
        else:
            time.sleep(delay)

    def _recovered(self) -> None:
        if self._failing:
            log.info("server reachable again")
            self._failing = False

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise ServerRefused(response.status_code, "bad_response", "not JSON") from None
        return data if isinstance(data, dict) else {"value": data}

    def _machine_fields(self) -> dict[str, str]:
        if self._machine is None:
            self._machine = machine_fields(self.servers.urls[0])
        return self._machine


class _Retryable(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
