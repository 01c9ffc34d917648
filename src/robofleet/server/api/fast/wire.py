"""ASGI plumbing of the front: reading the body, replaying it, and answering."""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope, Send

JSON_HEADERS = (b"content-type", b"application/json")


class ClientGone(Exception):
    """The client closed the connection before its body arrived: nobody to answer."""


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands FastAPI the body the front already read, then the real stream."""
    pending = True

    async def again() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def header_values(scope: Scope) -> dict[bytes, bytes]:
    """Lower-case header names to their first value (what Starlette's Headers.get answers)."""
    values: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        values.setdefault(name.lower(), value)
    return values


def header_text(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value is not None else None


async def send_json(send: Send, body: bytes, status: int = 200) -> None:
    # The headers and their order are JSONResponse's, so answers match FastAPI's.
    headers: list[tuple[bytes, bytes]] = [
        (b"content-length", str(len(body)).encode()),
        JSON_HEADERS,
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
