"""FastAPI with the lean front before its whole middleware stack.

Each request FastAPI serves passes through seven layers before a route or the front sees it
(FastAPI's own, Starlette's server-error layer, FastAPI's telemetry and body-limit layers, our
request metrics and body limit); on the robot path, answered in a few tenths of a millisecond,
their own frames were 5.5 % of the server's GIL-held samples, and skipping them took 3.7-4.6 %
off its user CPU a task (docs/benchmarks.md, issue 13, fifteenth session). Here
the app hands each request to the front first; what the front does not answer goes through the
stack as before (`behind_front`).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


class FrontedApp(FastAPI):
    front: ASGIApp | None = None
    """Set once the app is built; None: every request goes through the stack."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # as Starlette sets it: error handlers read the app from it
        await self.front(scope, receive, send)

    async def behind_front(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application as it is without the front: its middleware, then its routes."""
        await super().__call__(scope, receive, send)
