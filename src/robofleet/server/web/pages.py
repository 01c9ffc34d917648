"""What every page handler gets: the signed-in caller, rendering, redirects with a message,
CSRF checks and confirmations; and the route class that turns errors into pages.

A handler declares `page: PageDep`, calls one service with `page.caller` and returns
`page.render(...)` or `page.redirect(...)`. Errors the services raise become pages here
(WebRoute): on a GET, an error page with the error's status; on a form post, a redirect back
to the form with the error's message shown at the top.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import FormData

from robofleet.server.domain.errors import RobofleetError, status_of
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import invalid_input
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.web_sessions import WebSession, resume_web_session
from robofleet.server.web.templating import ENVIRONMENT

SESSION_COOKIE: Final = "robofleet_session"
FLASH_COOKIE: Final = "robofleet_flash"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
CONFIRMED_FIELD: Final = "confirmed"
BACK_PARAM: Final = "back"
"""On a confirmation page's post: where a failure goes back to."""
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS: Final = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-src 'self'; object-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
}


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    screen: Screen | None
    """The screen whose read right shows the item (None: everyone)."""
    also: tuple[str, ...] = ()
    """Other paths of the same section (robot groups are under Robots)."""

    def current(self, path: str) -> bool:
        if self.href == "/":
            return path == "/"
        return any(path == p or path.startswith(p + "/") for p in (self.href, *self.also))


NAV: Final = (
    NavItem("Overview", "/", None),
    NavItem("Robots", "/robots", Screen.ROBOT, also=("/robot-groups",)),
    NavItem("Processes", "/processes", Screen.PROCESS),
    NavItem("Jobs", "/jobs", Screen.JOB),
    NavItem("Queues", "/queues", Screen.QUEUE, also=("/tasks",)),
    NavItem("Triggers", "/triggers", Screen.TRIGGER),
    NavItem("Resources", "/resources", Screen.RESOURCE),
    NavItem("Storage", "/storage", Screen.STORAGE),
    NavItem("Logs", "/logs", Screen.LOG),
    NavItem("Accounts", "/accounts", Screen.ACCOUNT),
    NavItem("Users", "/users", Screen.USER),
    NavItem("Roles", "/roles", Screen.ROLE),
    NavItem("Access folders", "/folders", Screen.ACCESS_FOLDER),
    NavItem("Audit", "/audit", Screen.AUDIT),
    NavItem("API", "/api-key", Screen.API_KEY),
)


class SignInRequired(Exception):
    """No valid session: a GET goes to the sign-in page and comes back after."""


class BadCsrfToken(Exception):
    """A state-changing request without this session's CSRF token."""


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def secure_cookies(request: Request, runtime: Runtime) -> bool:
    """Secure cookies over HTTPS: as configured, or as the request (or its proxy) says."""
    configured = runtime.settings.web_secure_cookies
    if configured is not None:
        return configured
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    public = (runtime.settings.public_url or "").lower()
    return request.url.scheme == "https" or forwarded == "https" or public.startswith("https:")


def encode_flash(kind: str, message: str) -> str:
    raw = json.dumps({"kind": kind, "message": message[:1000]}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_flash(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("kind") not in {"info", "error"}:
        return None
    return {"kind": str(data["kind"]), "message": str(data.get("message", ""))}


def set_flash(response: Response, kind: str, message: str) -> None:
    response.set_cookie(
        FLASH_COOKIE, encode_flash(kind, message), max_age=60, httponly=True, samesite="lax"
    )


def local_path(target: str | None, fallback: str = "/") -> str:
    """A redirect target on this site only: a path, never another host (`//evil`)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return fallback
    return parts.path + (f"?{parts.query}" if parts.query else "")


def followed_by_script(request: Request) -> bool:
    """A request of the page's script (an upload's XHR following its redirect, a live
    fragment): the message stays for the page the script shows next."""
    return request.headers.get("x-requested-with") == "fetch" or "x-fragment" in request.headers


def back_path(request: Request, fallback: str = "/") -> str:
    """The page the request came from (its Referer), when it is a page of this site."""
    referer = request.headers.get("referer")
    if not referer:
        return fallback
    parts = urlsplit(referer)
    hosts = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")}
    if parts.netloc and parts.netloc not in hosts - {""}:
        return fallback
    return local_path(parts.path + (f"?{parts.query}" if parts.query else ""), fallback)


def render_template(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page for anyone (the sign-in page, errors before sign-in)."""
    flash = decode_flash(request.cookies.get(FLASH_COOKIE))
    html = ENVIRONMENT.get_template(template).render(
        request=request, flash=flash, page=None, nav=(), **context
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    if flash and not followed_by_script(request):
        response.delete_cookie(FLASH_COOKIE)
    return response


@dataclass
class Page:
    """One request of a signed-in user."""

    request: Request
    runtime: Runtime
    caller: Caller
    session: WebSession

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def user_name(self) -> str:
        return self.session.login

    def can(self, screen: Screen | str, action: Action | str = Action.READ) -> bool:
        return self.caller.principal.permissions.allows(Screen(screen), Action(action))

    @property
    def nav(self) -> list[NavItem]:
        return [item for item in NAV if item.screen is None or self.can(item.screen)]

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        flash = decode_flash(self.request.cookies.get(FLASH_COOKIE))
        html = ENVIRONMENT.get_template(template).render(
            request=self.request, page=self, flash=flash, nav=self.nav, **context
        )
        response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        if flash and not followed_by_script(self.request):
            response.delete_cookie(FLASH_COOKIE)
        return response

    def redirect(self, url: str, *, message: str = "", error: str = "") -> RedirectResponse:
        """303 to `url` (a path of this site), with a message shown on the next page."""
        response = RedirectResponse(local_path(url), status_code=303)
        if error:
            set_flash(response, "error", error)
        elif message:
            set_flash(response, "info", message)
        return response

    async def form(self) -> FormData:
        return await self.request.form()

    async def call(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """A blocking service call, off the event loop, as the caller."""
        return await run_in_threadpool(function, self.runtime, self.caller, *args, **kwargs)

    def confirm(self, question: str, form: Mapping[str, Any], action: str = "") -> HTMLResponse:
        """The no-script path of a destructive action: a page asking first, which posts the
        same fields again with confirmed=yes (the script asks in a dialog and adds it)."""
        fields = [(k, v) for k, v in form.items() if k not in {CSRF_FIELD, CONFIRMED_FIELD}]
        back = back_path(self.request)
        target = action or self.request.url.path
        # The confirmed post names the page to go back to if it fails: its own Referer is
        # this confirmation page, whose URL answers only posts.
        separator = "&" if "?" in target else "?"
        return self.render(
            "confirm.html",
            question=question,
            fields=fields,
            action=f"{target}{separator}{urlencode({BACK_PARAM: back})}",
            back=back,
        )


def confirmed(form: Mapping[str, Any]) -> bool:
    return form.get(CONFIRMED_FIELD) == "yes"


async def current_page(request: Request) -> Page:
    runtime: Runtime = request.app.state.runtime
    token = request.cookies.get(SESSION_COOKIE, "")
    session = await run_in_threadpool(resume_web_session, runtime, token) if token else None
    if session is None:
        raise SignInRequired
    if request.method not in SAFE_METHODS:
        await _check_csrf(request, session.csrf_token)
    caller = Caller(
        session.principal,
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    page = Page(request, runtime, caller, session)
    request.state.page = page  # an error page keeps the user's menu (WebRoute)
    return page


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            field = (await request.form()).get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise BadCsrfToken


PageDep = Annotated[Page, Depends(current_page)]


class WebRoute(APIRoute):
    """Errors become pages: sign-in redirects, error pages and messages on the form."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return _sign_in_first(request)
            except BadCsrfToken:
                return render_template(
                    request,
                    "error.html",
                    403,
                    title="Form expired",
                    message="This form was not sent from this session (its security token is "
                    "missing or old). Reload the page and try again.",
                )
            except RobofleetError as error:
                return _error_page(request, status_of(error), error.message)
            except ValidationError as error:
                return _error_page(request, 422, invalid_input(error).message)

        return handle


def _sign_in_first(request: Request) -> Response:
    if request.method in SAFE_METHODS:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    response = RedirectResponse("/login", status_code=303)
    set_flash(response, "error", "Your session has ended; sign in again.")
    return response


def not_found_page(request: Request) -> Response:
    """The answer to a browser's request for a page that does not exist."""
    return render_template(
        request,
        "error.html",
        404,
        title="Not found",
        message=f"There is no page at {request.url.path}.",
    )


def _error_page(request: Request, status: int, message: str) -> Response:
    if request.method in SAFE_METHODS:
        titles = {403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Too many requests"}
        title = titles.get(status, "Cannot show this page")
        page = getattr(request.state, "page", None)
        if isinstance(page, Page):  # signed in: the page keeps the menu and sign-out
            return page.render("error.html", status, title=title, message=message)
        return render_template(request, "error.html", status, title=title, message=message)
    # A form post that failed: back to the form, the message on top, nothing changed.
    asked = request.query_params.get(BACK_PARAM)
    back = local_path(asked) if asked else back_path(request)
    response = RedirectResponse(back, status_code=303)
    set_flash(response, "error", message)
    return response
