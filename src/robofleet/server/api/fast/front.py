"""The lean front: an ASGI layer before FastAPI that answers the robot path's hot operations.

An exact (method, path) lookup instead of the router's scan, no dependency injection, the
caller from the cached principal (looked up on a miss, as FastAPI's dependency does), the
route's own request model, the same service on a few dedicated threads instead of the
40-thread pool, and the answer rendered once. Whatever it cannot answer exactly as FastAPI
would (a credential that does not authenticate, a body that does not validate, another
content type, a query string) goes on to FastAPI unchanged, with the body replayed — so every
error body for bad input is FastAPI's own.

It stands before the whole application (`outermost`, api.fast.fronted_app): none of the
middleware layers FastAPI and Starlette put around every request runs for the requests it
answers, so it does their part itself: it counts and times its answers (RequestSeries), hands
on a body whose size is not declared within the limit (the body limit layer answers it), and
answers an unexpected error with the app's 500 before it goes on up to the server. With
OpenTelemetry on it stands inside the middleware instead, where FastAPI's telemetry layer has
opened the request's span."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from robofleet.server.api.fast.operations import HOT_OPERATIONS, Answer, HotOperation, Invocation
from robofleet.server.api.fast.single_flight import SingleFlight
from robofleet.server.api.fast.tracing import name_current_span
from robofleet.server.api.fast.wire import (
    ClientGone,
    header_text,
    header_values,
    read_body,
    replaying,
    send_json,
)
from robofleet.server.api.fast.workers import Workers
from robofleet.server.api.fast.write_lane import WriteLane
from robofleet.server.api.openapi import operation_id
from robofleet.server.api.request_metrics import RequestSeries
from robofleet.server.api.routing import FORM, form_fields
from robofleet.server.domain.errors import RobofleetError
from robofleet.server.domain.principals import Principal
from robofleet.server.domain.values import maybe_past_int64
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.rendered import RenderedJson
from robofleet.server.services.access.auth import authenticate, cached_principal
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.credential_forms import Credentials
from robofleet.server.services.access.lean_auth import authenticate_on_driver

log = logging.getLogger("robofleet.api.fast")
OPERATION_KEY = "robofleet.operation"
"""Names, in the ASGI scope, the operationId of a request the front answered (for metrics)."""
_JSON = b"application/json"
_FORM = FORM.encode()
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class _NotHere(Exception):
    """The front cannot answer this request exactly as FastAPI would: FastAPI answers it."""


@dataclass(frozen=True)
class _Bound:
    operation: HotOperation
    operation_id: str
    route_path: str
    shadowed: frozenset[str] = frozenset()
    """Values of a path parameter that an earlier route serves instead."""


class FastFront:
    def __init__(
        self,
        app: ASGIApp,
        *,
        runtime: Runtime,
        routes: list[BaseRoute],
        handlers: Mapping[Any, Callable[..., Any]],
        threads: int,
        max_body: int,
        traced: bool = False,
        outermost: bool = False,
        series: RequestSeries | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.outermost = outermost
        self.series = series
        """Where the front records its answers (outermost, metrics on): no layer does it."""
        self.traced = traced
        """ROBOFLEET_OPENTELEMETRY: name the request's span after the operation answered."""
        self.runtime = runtime
        self.routes = routes
        self.handlers = handlers
        # Few threads: each more one costs context switches; on SQLite writes queue anyway.
        self.workers = Workers(threads)
        writer = runtime.db.group_writer
        self.lane = WriteLane(writer, self.workers.run) if writer is not None else None
        """SQLite's writes, many to a commit on one thread (None: writers run side by side)."""
        self.lookups: SingleFlight[Principal] = SingleFlight()
        self._exact: dict[tuple[str, str], _Bound] | None = None
        self._prefixed: list[_Bound] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("query_string") or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        if self._exact is None:
            self._bind()
        assert self._exact is not None
        bound = self._exact.get((scope["method"], scope["path"]))
        path_value = ""
        if bound is None and self._prefixed:
            bound, path_value = self._by_prefix(scope)
        if bound is None:
            await self.app(scope, receive, send)
            return
        await self._answer(bound, path_value, scope, receive, send)

    async def _answer(
        self, bound: _Bound, path_value: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        operation = bound.operation
        headers = header_values(scope)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        credentials = Credentials(
            header_text(headers, b"key"), header_text(headers, b"authorization")
        )
        reads_body = operation.method != "GET"
        if reads_body and not (
            _decodable(operation, content_type) and _declared_within(headers, self.max_body)
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        principal = cached_principal(self.runtime, credentials)
        if principal is None:
            # A miss (a new caller, or its entry aged out) is looked up as FastAPI's
            # dependency does, once for all the calls that wait on the same credentials; a
            # refusal goes on to FastAPI, which answers it (the body is not read yet).
            try:
                principal = await self.lookups.run(
                    credentials.cache_key, lambda: self._look_up(credentials)
                )
            except RobofleetError:
                await self.app(scope, receive, send)
                return
        try:
            raw = await read_body(receive) if reads_body else b""
        except ClientGone:
            return
        try:
            body = _parsed(operation, content_type, raw) if reads_body else None
        except _NotHere:
            await self.app(scope, replaying(raw, receive), send)
            return
        scope[OPERATION_KEY] = bound.operation_id
        if self.traced:
            name_current_span(operation.method, bound.route_path)
        client = scope.get("client")
        caller = Caller(
            principal,
            address=client[0] if client else "",
            user_agent=header_text(headers, b"user-agent") or "",
        )
        invocation = Invocation(
            self.runtime,
            caller,
            body,
            headers,
            path_value,
            receive,
            self.workers.run,
            self._offload_write,
            self._offload_statements,
        )
        try:
            answer = await operation.run(invocation)
            rendered = _rendered(answer, exclude_none=operation.exclude_none)
        except Exception as exc:
            await self._answer_error(exc, bound, started, scope, receive, send)
            return
        await send_json(send, rendered)
        self._note(bound, 200, started)

    def _note(self, bound: _Bound, status: int, started: float) -> None:
        if self.series is not None:
            self.series.record(
                bound.operation_id, bound.operation.method, status, time.perf_counter() - started
            )

    async def _offload_write(self, call: Callable[..., Any], *args: Any) -> Any:
        """A blocking call that writes: on SQLite's write lane, else on the worker threads."""
        if self.lane is not None:
            return await self.lane.run(call, *args)
        return await self.workers.run(call, *args)

    async def _offload_statements(self, call: Callable[..., Any], *args: Any) -> Any:
        """A call whose only blocking work is its SQLite statements: on SQLite on the loop's
        thread (WriteLane.run_here), else on the worker threads."""
        if self.lane is not None:
            return await self.lane.run_here(call, *args)
        return await self.workers.run(call, *args)

    async def _look_up(self, credentials: Credentials) -> Principal:
        """A robot's common case on PostgreSQL's driver pool (lean_auth), else auth's lookup
        on the front's threads."""
        principal = await authenticate_on_driver(self.runtime, credentials)
        if principal is None:
            principal = await self.workers.run(authenticate, self.runtime, credentials)
        return principal

    async def _answer_error(
        self,
        exc: Exception,
        bound: _Bound,
        started: float,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """The app's own exception handler answers. An unexpected error (the handler for
        Exception) is answered here only when no server-error layer stands outside the front;
        either way it goes on up, so the server logs it and closes the connection, as it does
        for FastAPI's routes."""
        kind = next(
            (
                kind
                for kind in type(exc).__mro__
                if kind in self.handlers and (kind is not Exception or self.outermost)
            ),
            None,
        )
        if kind is None:
            raise exc
        response: Response = await self.handlers[kind](Request(scope, receive), exc)
        await response(scope, receive, send)
        self._note(bound, response.status_code, started)
        if kind is Exception:
            raise exc

    def _by_prefix(self, scope: Scope) -> tuple[_Bound | None, str]:
        path: str = scope["path"]
        for bound in self._prefixed:
            operation = bound.operation
            if scope["method"] != operation.method or not path.startswith(operation.path):
                continue
            value = path[len(operation.path) :]
            # The route's `{param}` is one non-empty segment; NUL is refused by FastAPI's path.
            if value and "/" not in value and "\x00" not in value and value not in bound.shadowed:
                return bound, value
        return None, ""

    def _bind(self) -> None:
        """Each operation takes the operationId of the FastAPI route that serves its path:
        the route must exist (so OpenAPI documents it) and be the first one to match."""
        exact: dict[tuple[str, str], _Bound] = {}
        for operation in HOT_OPERATIONS:
            sample = operation.path + "x" if operation.path_parameter else operation.path
            route, earlier = _first_match(self.routes, operation.method, sample)
            if route is None:
                log.warning("no route serves %s %s: the front leaves it", operation.method, sample)
                continue
            if not operation.path_parameter:
                exact[(operation.method, operation.path)] = _Bound(
                    operation, operation_id(route), route.path
                )
                continue
            shadowed = _shadowing_names(earlier, operation.path)
            if shadowed is not None:
                self._prefixed.append(_Bound(operation, operation_id(route), route.path, shadowed))
        self._exact = exact


def _first_match(
    routes: list[BaseRoute], method: str, path: str
) -> tuple[APIRoute | None, list[BaseRoute]]:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for index, route in enumerate(routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return (route if isinstance(route, APIRoute) else None), routes[:index]
    return None, []


def _shadowing_names(earlier: list[BaseRoute], prefix: str) -> frozenset[str] | None:
    """The fixed paths under `prefix` that routes before the parameter route serve; None
    when an earlier route has a parameter there too (the front then leaves the operation)."""
    names: set[str] = set()
    for route in earlier:
        path = getattr(route, "path", "")
        if not isinstance(path, str) or not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        if "{" in rest:
            return None
        names.add(rest)
    return frozenset(names)


def _declared_within(headers: Mapping[bytes, bytes], limit: int) -> bool:
    """The body's length is declared and within the limit: read whole, it cannot pass it."""
    declared = headers.get(b"content-length", b"")
    return declared.isdigit() and int(declared) <= limit and b"transfer-encoding" not in headers


def _decodable(operation: HotOperation, content_type: bytes) -> bool:
    if operation.model is None:
        return content_type == _JSON
    return content_type in (_JSON, _FORM)


def _parsed(operation: HotOperation, content_type: bytes, raw: bytes) -> Any:
    """The request model from the body, decoded as SherpaRoute and FastAPI decode it."""
    if operation.model is None:
        return raw
    fields: Any
    if not raw.strip():
        # An empty body is an empty object, so that a missing field is named (SherpaRoute).
        fields = {}
    elif content_type == _FORM:
        try:
            fields = form_fields(raw)
        except RobofleetError:
            raise _NotHere from None
    elif maybe_past_int64(raw):  # then FastAPI answers (a text's digits too)
        # orjson reads a whole number past 64 bits as a float, which the 64-bit check then
        # passes; FastAPI's json.loads keeps it whole and refuses it with a 422.
        raise _NotHere
    else:
        try:
            # orjson accepts a subset of what json.loads does, and then agrees with it.
            fields = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _NotHere from None
    try:
        return operation.model.model_validate(fields, from_attributes=True)
    except ValidationError:
        raise _NotHere from None


def _rendered(answer: Answer, *, exclude_none: bool) -> bytes:
    if isinstance(answer, RenderedJson):
        return answer.body
    if isinstance(answer, BaseModel):
        return type(answer).__pydantic_serializer__.to_json(
            answer, by_alias=True, exclude_none=exclude_none
        )
    return orjson.dumps(answer)
