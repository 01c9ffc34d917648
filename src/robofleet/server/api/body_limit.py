"""Refuses request bodies over the configured size with a 413 in the common error shape.

Multipart uploads (process packages, storage files) get the larger upload limit.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from robofleet.server.api.errors import error_body

_RESPONSE_HEADERS = [(b"content-type", b"application/json"), (b"connection", b"close")]


class _TooLarge(Exception):
    pass


STORAGE_PREFIX = "/api/files/"
SIGNED_UPLOADS = (STORAGE_PREFIX, "/robocorp/signed/")
_TEXT_BODIES = (b"application/json", b"application/x-www-form-urlencoded")


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body: int, max_upload: int, max_storage: int | None = None
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.max_storage = max_storage or max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").lower()
        limit = self.max_upload if content_type.startswith(b"multipart/") else self.max_body
        if scope.get("path", "").startswith(SIGNED_UPLOADS) and not content_type.startswith(
            _TEXT_BODIES
        ):
            # Storage files and Robocorp uploads (multipart or raw) have their own, larger limit.
            limit = self.max_storage
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and b"transfer-encoding" not in headers:
            if int(declared) > limit:
                await self._refuse(scope, send, limit)
            else:
                # HTTP's framing ends the body at the declared length (no length, no
                # chunks: no body): nothing to count as it arrives.
                await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        body = orjson.dumps(
            error_body(
                413,
                "body_too_large",
                f"the request body is larger than {limit} bytes; send less per request",
                scope.get("path", ""),
            )
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [*_RESPONSE_HEADERS, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
