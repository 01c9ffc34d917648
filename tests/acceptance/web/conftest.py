"""A real Chromium per test worker, a fresh browser context per test, signed in as the
test's tenant (its administrator) against the session's real server.

A screen's test runs against PostgreSQL, the store of a deployment with several operators;
the services behind the screens run on both stores in the API tests, and the reads written
for the screens (overview, robot summaries, queue counts, named log lines, reveal) in the
service tier on SQLite. Screens that update live run on both stores: mark such a test
`@pytest.mark.parametrize("server", BACKENDS, indirect=True)`. One store per screen halves the
browser tests' share of the CI time (docs/decisions.md, Issue 14)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.acceptance.conftest import Tenant
from tests.support.browser import LAUNCH_ARGS, chromium_path, sign_in

DESKTOP = {"width": 1280, "height": 900}
SCREEN_STORE = "postgres"


def _parametrizes_server(mark: pytest.Mark) -> bool:
    names = mark.args[0]
    listed = names.split(",") if isinstance(names, str) else names
    return "server" in (name.strip() for name in listed)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a screen's test on SCREEN_STORE unless it names its stores itself. A marker (not a
    direct parametrize call) so the session's `server` keeps one process per store."""
    if "server" not in metafunc.fixturenames:
        return
    if any(_parametrizes_server(mark) for mark in metafunc.definition.iter_markers("parametrize")):
        return
    metafunc.definition.add_marker(pytest.mark.parametrize("server", [SCREEN_STORE], indirect=True))


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
