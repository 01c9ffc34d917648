"""Dependencies shared by the routes: the runtime and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader

from robofleet.server.domain.errors import Unauthenticated
from robofleet.server.runtime import Runtime
from robofleet.server.services.access.auth import authenticate, cached_principal
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.credential_forms import Credentials

# Declared for OpenAPI's "Authorize" dialog; the headers are parsed by services.access.auth.
key_scheme = APIKeyHeader(
    name="Key", auto_error=False, scheme_name="Key", description="The API key (a UUID)."
)
authorization_scheme = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    scheme_name="Authorization",
    description="`Bearer <login token>`, `Bearer <base64 of API key or robot GUID>` or "
    "`Basic <base64 of API key or robot GUID>`.",
)


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


async def current_caller(
    request: Request,
    runtime: RuntimeDep,
    key: Annotated[str | None, Security(key_scheme)] = None,
    authorization: Annotated[str | None, Security(authorization_scheme)] = None,
) -> Caller:
    credentials = Credentials(key, authorization)
    # A cached identity costs no thread hop; a miss is looked up off the event loop.
    principal = cached_principal(runtime, credentials)
    if principal is None:
        principal = await run_in_threadpool(authenticate, runtime, credentials)
    return Caller(
        principal, address=client_address(request), user_agent=request.headers.get("user-agent", "")
    )


CallerDep = Annotated[Caller, Depends(current_caller)]


async def robot_protocol_caller(
    request: Request,
    runtime: RuntimeDep,
    key: Annotated[str | None, Security(key_scheme)] = None,
    authorization: Annotated[str | None, Security(authorization_scheme)] = None,
) -> Caller | None:
    """Sherpa robots learn of an unknown GUID from an in-body code 101, not from a 401."""
    try:
        return await current_caller(request, runtime, key, authorization)
    except Unauthenticated as exc:
        if exc.code == "invalid_credentials":
            return None
        raise


RobotCallerDep = Annotated[Caller | None, Depends(robot_protocol_caller)]
