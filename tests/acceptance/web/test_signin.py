"""Sign in and sign out in a real browser: the session cookie, the idle timeout, CSRF and
the brute-force limit shared with the API's login."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.acceptance.conftest import Tenant, make_tenant
from tests.support.browser import assert_accessible, screenshot, sign_in
from tests.support.server import ServerProcess


def test_a_user_signs_in_sees_the_overview_and_signs_out(page: Page, tenant: Tenant) -> None:
    base = tenant.server.url
    page.goto(f"{base}/?since=7d")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Sign in to Robofleet")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "signin")
    page.get_by_label("Login").fill(tenant.login)
    page.get_by_label("Password").fill(tenant.password)
    page.get_by_role("button", name="Sign in").click()
    # Back where the user was going.
    expect(page).to_have_url(re.compile(r"/\?since=7d$"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "robofleet_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain HTTP here; Secure behind HTTPS
    page.locator("#sign-out").click()
    expect(page.get_by_role("status")).to_contain_text("You have signed out")
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_wrong_password_is_refused_and_names_no_user(page: Page, tenant: Tenant) -> None:
    page.goto(f"{tenant.server.url}/login")
    page.get_by_label("Login").fill(tenant.login)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("wrong login or password")
    expect(page.get_by_label("Login")).to_have_value(tenant.login)


def test_the_session_ends_everywhere_on_sign_out(page: Page, tenant: Tenant) -> None:
    """A copy of the cookie is worthless once its user signed out."""
    base = tenant.server.url
    sign_in(page, base, tenant.login, tenant.password)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "robofleet_session")
    with httpx.Client(base_url=base, cookies={"robofleet_session": token}) as copy:
        assert copy.get("/").status_code == 200
        page.locator("#sign-out").click()
        expect(page).to_have_url(re.compile(r"/login"))
        answer = copy.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_a_form_without_the_session_csrf_token_changes_nothing(page: Page, tenant: Tenant) -> None:
    base = tenant.server.url
    sign_in(page, base, tenant.login, tenant.password)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "robofleet_session")
    with httpx.Client(base_url=base, cookies={"robofleet_session": token}) as forged:
        answer = forged.post("/logout", data={"csrf_token": "forged"})
        assert answer.status_code == 403
        assert "security token" in answer.text
        assert forged.get("/").status_code == 200  # still signed in: nothing happened


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_failed_logins_are_limited_for_the_web_and_the_api_alike(
    page: Page, fresh_server: ServerProcess
) -> None:
    """On a server with the product's limits (the shared test servers raise them)."""
    fresh_server.env.update(
        ROBOFLEET_LOGIN_MAX_FAILURES="5", ROBOFLEET_LOGIN_MAX_FAILURES_PER_ADDRESS="20"
    )
    fresh_server.start()
    tenant = make_tenant(fresh_server)
    base = fresh_server.url
    with httpx.Client(base_url=base) as api:
        for _ in range(5):
            wrong = api.post("/api/user/login", json={"login": tenant.login, "password": "bad"})
            assert wrong.status_code == 401
        locked = api.post(
            "/api/user/login", json={"login": tenant.login, "password": tenant.password}
        )
        roboteasy = api.post(
            "/api/user/v2/auth",
            json={"username": tenant.login, "password": base64.b64encode(b"x").decode()},
        )
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "too many failed logins" in locked.json()["message"]
    assert roboteasy.status_code == 429
    # The web sign-in counts the same failures: the right password is refused too.
    page.goto(f"{base}/login")
    page.get_by_label("Login").fill(tenant.login)
    page.get_by_label("Password").fill(tenant.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("too many failed logins")
    # Another user signs in from the same address: one name's guesses lock only that name.
    other = make_tenant(fresh_server)
    sign_in(page, base, other.login, other.password)


def test_the_session_cookie_is_secure_behind_https(tenant: Tenant) -> None:
    """A proxy that ends TLS says so in X-Forwarded-Proto: the cookie is then Secure."""
    with httpx.Client(base_url=tenant.server.url) as browser:
        form = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        answer = browser.post(
            "/login",
            data={"login": tenant.login, "password": tenant.password, "csrf_token": token[1]},
            headers={"X-Forwarded-Proto": "https"},
        )
    assert answer.status_code == 303
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("robofleet_session=")
    )
    assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=lax" in cookie.lower()


def test_a_browser_gets_a_page_for_a_missing_page_and_the_api_its_json(
    page: Page, tenant: Tenant
) -> None:
    page.goto(f"{tenant.server.url}/no-such-screen")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator(".error-message")).to_have_text("There is no page at /no-such-screen.")
    with httpx.Client(base_url=tenant.server.url) as client:
        api = client.get("/api/no-such-operation", headers={"Accept": "text/html"})
        plain = client.get("/no-such-screen")
    assert api.status_code == plain.status_code == 404
    assert api.json()["code"] == plain.json()["code"] == "no_such_operation"
