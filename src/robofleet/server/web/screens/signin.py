"""Sign in and sign out."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Final

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from robofleet.server.domain.errors import Forbidden, RateLimited, Unauthenticated
from robofleet.server.runtime import Runtime
from robofleet.server.services.access import auth
from robofleet.server.services.access.web_sessions import end_web_session, open_web_session
from robofleet.server.web.pages import (
    SESSION_COOKIE,
    PageDep,
    WebRoute,
    client_address,
    local_path,
    render_template,
    secure_cookies,
    set_flash,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LOGIN_CSRF_COOKIE: Final = "robofleet_login_csrf"
"""The sign-in form's CSRF token before there is a session: the cookie and the form field
must match (a site elsewhere can post the form but cannot read or set the cookie)."""


@router.get("/login")
def sign_in_page(request: Request, next: str = "/") -> Response:
    return _form(request, next=local_path(next))


def _form(
    request: Request, *, next: str, login: str = "", error: str = "", status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render_template(
        request,
        "login.html",
        status_code,
        csrf_token=token,
        next=next,
        login=login,
        error=error,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login")
async def sign_in(
    request: Request,
    login: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    runtime: Runtime = request.app.state.runtime
    target = local_path(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _form(
            request,
            next=target,
            login=login,
            error="The sign-in form expired; enter your password again.",
            status_code=403,
        )
    address = client_address(request)
    user_agent = request.headers.get("user-agent", "")
    try:
        signed_in = await run_in_threadpool(
            lambda: auth.sign_in(
                runtime,
                login_name=login,
                password=password,
                address=address,
                user_agent=user_agent,
            )
        )
    except RateLimited as exc:
        response = _form(request, next=target, login=login, error=exc.message, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (Unauthenticated, Forbidden) as exc:
        return _form(request, next=target, login=login, error=exc.message, status_code=401)
    session = await run_in_threadpool(
        open_web_session, runtime, signed_in, address=address, user_agent=user_agent
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, runtime),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def sign_out(page: PageDep) -> Response:
    await run_in_threadpool(end_web_session, page.runtime, page.caller, page.session.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    set_flash(response, "info", "You have signed out.")
    return response
