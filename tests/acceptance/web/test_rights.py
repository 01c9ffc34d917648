"""Rights in the web application: a user sees in the menu only the screens his roles let him
read, a screen he may not read answers 403 with a clear message, and an action he lacks is
refused with nothing changed (the services decide; hiding a button is only a courtesy)."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.acceptance.conftest import Tenant
from tests.support.browser import assert_accessible, screenshot, sign_in


def create_role_and_user(
    page: Page, base: str, rights: tuple[str, ...] = ("Read Logs", "Read Access folders")
) -> tuple[str, str]:
    """Through the forms: a role with these rights (the grid's labels), a user holding it."""
    page.goto(f"{base}/roles/new")
    role = f"Readers {uuid.uuid4().hex[:4]}"
    page.get_by_label("Name").fill(role)
    for right in rights:
        page.get_by_label(right, exact=True).check()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text(f"Role '{role}' created")
    login = f"reader-{uuid.uuid4().hex[:6]}"
    page.goto(f"{base}/users/new")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill("reader-password-1")
    page.get_by_label(role).check()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text(f"User '{login}' created")
    return role, login


def folder_names(tenant: Tenant) -> list[str]:
    answer = tenant.api.get("/api/accessFolder/read")
    assert answer.status_code == 200, answer.text
    return sorted(folder["name"] for folder in answer.json())


def test_a_user_sees_and_does_only_what_his_role_allows(
    admin_page: Page, browser: Browser, tenant: Tenant
) -> None:
    base = tenant.server.url
    _, login = create_role_and_user(admin_page, base)
    kept = tenant.api.post("/api/accessFolder/create", json={"Name": "Kept"})
    assert kept.status_code == 200, kept.text
    kept_guid = kept.json()["guid"]

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        reader = context.new_page()
        sign_in(reader, base, login, "reader-password-1")
        # The menu names only what he may read.
        menu = reader.locator("nav.sidebar")
        expect(menu.get_by_role("link")).to_have_text(["Overview", "Logs", "Access folders"])
        for hidden in ("Users", "Roles", "Audit", "API", "Accounts"):
            expect(menu.get_by_role("link", name=hidden, exact=True)).to_have_count(0)

        # A screen outside his role: 403, saying why.
        for path, screen in (("/users", "user"), ("/roles", "role"), ("/audit", "audit")):
            answer = reader.goto(f"{base}{path}")
            assert answer is not None and answer.status == 403, path
            expect(reader.get_by_role("heading", name="Not allowed")).to_be_visible()
            expect(reader.locator(".error-message")).to_contain_text(
                f"has no 'read' right on {screen}"
            )
            # Still signed in, the menu as before: no link to what he may not read.
            expect(menu.get_by_role("link")).to_have_text(["Overview", "Logs", "Access folders"])
            expect(reader.locator("#sign-out")).to_be_visible()
        assert_accessible(reader)
        screenshot(reader, "forbidden")

        # A screen he may read, without the buttons for what he may not do.
        reader.goto(f"{base}/folders")
        expect(reader.locator("#table tbody")).to_contain_text("Kept")
        expect(reader.get_by_role("link", name="New access folder")).to_have_count(0)
        reader.get_by_role("link", name="Kept").click()
        expect(reader.locator("#delete")).to_have_count(0)

        # An action he lacks, sent anyway: refused on the form, nothing created.
        reader.goto(f"{base}/folders/new")
        reader.get_by_label("Name").fill("Sneaky")
        reader.get_by_role("button", name="Create").click()
        expect(reader.get_by_role("alert")).to_contain_text(
            "has no 'create' right on access_folder"
        )
        expect(reader).to_have_url(re.compile(r"/folders/new$"))
        assert folder_names(tenant) == ["Kept"]

        # A delete posted by hand with his session's token: refused, the folder stays.
        reader.goto(f"{base}/folders")
        token = reader.locator('meta[name="csrf-token"]').get_attribute("content")
        refused = reader.request.post(
            f"{base}/folders/{kept_guid}/delete",
            form={"csrf_token": token or "", "confirmed": "yes"},
            headers={"Referer": f"{base}/folders"},
            max_redirects=0,
        )
        assert refused.status == 303
        assert folder_names(tenant) == ["Kept"]
        reader.goto(f"{base}/folders")
        expect(reader.get_by_role("alert")).to_contain_text(
            "has no 'delete' right on access_folder"
        )
    finally:
        context.close()


def test_a_user_without_the_administrator_role_manages_his_own_key(
    admin_page: Page, browser: Browser, tenant: Tenant
) -> None:
    base = tenant.server.url
    _, login = create_role_and_user(admin_page, base, ("Read API key", "Read Logs"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        user = context.new_page()
        sign_in(user, base, login, "reader-password-1")
        user.get_by_role("link", name="API", exact=True).click()
        expect(user.get_by_role("heading", name="Your API key")).to_be_visible()
        expect(user.locator("#no-key")).to_be_visible()
        expect(user.locator("#refresh")).to_have_count(0)  # nothing to refresh yet
        user.once("dialog", lambda dialog: dialog.accept())
        user.locator("#assign").click()
        key = user.locator("#new-key").inner_text()
        with httpx.Client(base_url=base, headers={"Key": key}) as api:
            assert api.get("/api/log/list").status_code == 200  # his roles' rights
            assert api.get("/api/user/read").status_code == 403  # and no more
        user.goto(f"{base}/api-key")
        expect(user.locator(".key-hint")).to_have_text("…" + key[-4:])
        # The account's key is not his to see or change.
        assert tenant.key[-4:] not in user.locator("main").inner_text()
        assert tenant.api.get("/api/user/read").status_code == 200
    finally:
        context.close()
