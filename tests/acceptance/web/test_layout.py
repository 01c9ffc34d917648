"""The layout on a phone (390 px wide: a menu toggle, tables that scroll inside their box,
no page wider than the screen) and with the keyboard alone (skip link first, then the
menu; Enter follows a link)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.acceptance.conftest import Tenant
from tests.support.browser import assert_accessible, screenshot, sign_in
from tests.support.fleet import make_robot, robot_auth

PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENS = (
    "/",
    "/logs",
    "/accounts",
    "/users",
    "/users/new",
    "/roles",
    "/roles/new",
    "/folders",
    "/audit",
    "/api-key",
)


@pytest.fixture
def phone(browser: Browser, tenant: Tenant) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    sign_in(opened, tenant.server.url, tenant.login, tenant.password)
    yield opened
    context.close()


def page_width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def test_every_admin_screen_fits_a_phone(phone: Page, tenant: Tenant) -> None:
    base = tenant.server.url
    robot = make_robot(tenant.api)
    with tenant.client(**robot_auth(robot)) as agent:
        long_word = "x" * 300
        agent.post(
            "/api/log/batch",
            json={"Lines": [{"Message": f"a long line {long_word}", "Fields": {"k": long_word}}]},
        ).raise_for_status()
    for path in SCREENS:
        phone.goto(f"{base}{path}")
        expect(phone.locator("main h1")).to_be_visible()
        assert page_width(phone) <= PHONE["width"] + 1, path
        screenshot(phone, "phone-" + (path.strip("/").replace("/", "-") or "overview"))
    phone.goto(f"{base}/logs")
    assert_accessible(phone)

    # The table scrolls inside its box; the page does not.
    box = phone.locator("#table .table-scroll")
    assert box.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    box.evaluate("el => { el.scrollLeft = 200; }")
    assert box.evaluate("el => el.scrollLeft") > 0
    assert page_width(phone) <= PHONE["width"] + 1


def test_the_phone_menu_opens_and_navigates(phone: Page, tenant: Tenant) -> None:
    phone.goto(f"{tenant.server.url}/")
    expect(phone.locator("nav.sidebar")).to_be_hidden()
    menu = phone.locator("details.menu-toggle")
    expect(menu.get_by_role("link", name="Users")).to_be_hidden()
    menu.locator("summary").click()
    expect(menu.get_by_role("link", name="Users")).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "phone-menu-open")
    assert page_width(phone) <= PHONE["width"] + 1
    menu.get_by_role("link", name="Users").click()
    expect(phone).to_have_url(re.compile(r"/users$"))
    expect(phone.get_by_role("heading", name="Users")).to_be_visible()


def focused(page: Page) -> str:
    text: str = page.evaluate(
        "() => { const el = document.activeElement;"
        " return (el.closest('nav.sidebar') ? 'nav:' : '') + (el.textContent || '').trim(); }"
    )
    return text


def test_the_keyboard_reaches_the_skip_link_first_then_the_menu(
    admin_page: Page, tenant: Tenant
) -> None:
    page = admin_page
    base = tenant.server.url
    page.goto(f"{base}/")
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to content"
    expect(page.locator(".skip-link")).to_be_visible()  # shown while focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.goto(f"{base}/")
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to content"
    seen = []
    for _ in range(10):
        page.keyboard.press("Tab")
        seen.append(focused(page))
        if seen[-1].startswith("nav:"):
            break
    assert seen[-1] == "nav:Overview", seen
    for _ in range(20):
        if focused(page) == "nav:Logs":
            break
        page.keyboard.press("Tab")
    assert focused(page) == "nav:Logs"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/logs$"))
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
