"""A real Chromium per test worker, a fresh browser context per test, signed in as the
test's tenant (its administrator) against the session's real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.acceptance.conftest import Tenant
from tests.support.browser import LAUNCH_ARGS, chromium_path, sign_in

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=chromium_path(), args=LAUNCH_ARGS, headless=True
    )
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def admin_page(page: Page, tenant: Tenant) -> Page:
    """The tenant's administrator, signed in."""
    sign_in(page, tenant.server.url, tenant.login, tenant.password)
    return page
