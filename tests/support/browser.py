"""Debian's Chromium driven by Playwright, for the web application's end-to-end tests.

Playwright's own browser download does not work here; the tests launch /usr/bin/chromium
(scripts/bootstrap dev installs it). Screenshots of every screen go to artifacts/screenshots
(ROBOFLEET_ARTIFACTS moves the folder), kept as CI artifacts.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Final

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

CHROMIUM: Final = os.environ.get("ROBOFLEET_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS: Final = Path(
    os.environ.get("ROBOFLEET_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts")
)
SERIOUS: Final = {"serious", "critical"}


def chromium_path() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not found:
        raise RuntimeError(
            "Chromium is not installed: run scripts/bootstrap dev (apt-get install -y chromium)"
        )
    return found


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot of the screen, named after it (and the store in use)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_AXE = Axe()


def assert_accessible(page: Page, *, ignore: tuple[str, ...] = ()) -> None:
    """axe-core's rules on the page as it is now: no serious or critical violation."""
    results: Any = _AXE.run(page)
    violations = [
        v
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS and v["id"] not in ignore
    ]
    assert not violations, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in violations
    )


def sign_in(page: Page, base_url: str, login: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-out")).to_be_visible()
