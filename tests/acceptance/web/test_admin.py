"""The administration screens in a real browser against a real server: logs (filters, live
tail, screenshots), access folders, roles, users, accounts, audit and the API key."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.acceptance.conftest import BACKENDS, Tenant, make_tenant
from tests.support.browser import assert_accessible, screenshot, sign_in
from tests.support.fleet import make_robot, robot_auth

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def write_lines(tenant: Tenant, robot: str, *lines: dict[str, object]) -> None:
    """Lines written as the robot does: its own credentials, the log batch."""
    with tenant.client(**robot_auth(robot)) as agent:
        answer = agent.post("/api/log/batch", json={"Lines": list(lines)})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"count": len(lines)}


def accept_dialogs(page: Page) -> None:
    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.on("dialog", accept)


def test_logs_filter_by_robot_level_and_text(admin_page: Page, tenant: Tenant) -> None:
    page = admin_page
    picker = f"picker-{uuid.uuid4().hex[:6]}"
    picker_guid = make_robot(tenant.api, picker)
    other = make_robot(tenant.api)
    write_lines(
        tenant,
        picker_guid,
        {"Level": "Info", "Message": "invoice 1 posted"},
        {"Level": "Error", "Message": "invoice 2 failed"},
        {"Level": "Debug", "Message": "looking at <b>invoice 3</b>"},
    )
    write_lines(tenant, other, {"Level": "Warning", "Message": "disk almost full"})
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_lines(tenant, other, {"Message": "old news", "Time": two_days_ago})
    page.goto(f"{tenant.server.url}/logs")
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    rows = page.locator("#table tbody tr")
    expect(rows).to_have_count(5)
    expect(page.locator("#table tbody")).to_contain_text("looking at <b>invoice 3</b>")
    expect(page.locator("#table tbody b")).to_have_count(0)  # the message is text, not HTML
    expect(rows.filter(has_text="invoice 1 posted")).to_contain_text(picker)  # its robot
    assert_accessible(page)
    screenshot(page, "logs")

    page.get_by_label("Period").select_option("24h")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(4)
    expect(page.locator("#table tbody")).not_to_contain_text("old news")

    page.get_by_label("Robot").fill(picker)
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(3)
    expect(page.locator("#table tbody")).not_to_contain_text("disk almost full")

    page.get_by_label("Level").select_option("Error")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("invoice 2 failed")
    expect(rows.first).to_contain_text("Error")

    page.get_by_label("Level").select_option("")
    page.get_by_label("Search").fill("posted")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("invoice 1 posted")
    expect(page).to_have_url(re.compile(r"q=posted"))

    # The CSV export holds the filtered lines.
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    exported = download.value.path().read_text(encoding="utf-8")
    assert "invoice 1 posted" in exported
    assert "invoice 2 failed" not in exported

    # A line's robot links to that robot's lines alone.
    page.goto(f"{tenant.server.url}/logs")
    page.locator("#table tbody tr", has_text="disk almost full").locator("td").nth(3).get_by_role(
        "link"
    ).click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("disk almost full")
    expect(rows.nth(1)).to_contain_text("old news")

    # An unknown robot is said plainly, not an empty table.
    page.get_by_label("Search").fill("")
    page.get_by_label("Robot").fill("no-such-robot")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator(".error-message")).to_contain_text("no-such-robot")


@pytest.mark.parametrize("server", BACKENDS, indirect=True)
def test_the_live_tail_shows_lines_as_robots_write_them(admin_page: Page, tenant: Tenant) -> None:
    page = admin_page
    robot = make_robot(tenant.api)
    write_lines(tenant, robot, {"Message": "before following"})
    page.goto(f"{tenant.server.url}/logs")
    page.get_by_role("button", name="Follow live").click()
    tail = page.locator("#tail")
    expect(tail).to_have_attribute("data-live-ready", "1")
    expect(page.get_by_role("button", name="Stop following")).to_be_visible()
    write_lines(
        tenant,
        robot,
        {"Level": "Warning", "Message": "live <script>alert(1)</script> one"},
        {"Level": "Info", "Message": "live two"},
    )
    expect(tail.locator("li")).to_have_count(2)
    expect(tail.locator("li").first).to_contain_text("live <script>alert(1)</script> one")
    expect(tail.locator("li").first).to_contain_text("[Warning]")
    expect(tail.locator("script")).to_have_count(0)
    expect(tail.locator("li").nth(1)).to_contain_text("live two")
    assert_accessible(page)
    screenshot(page, "logs-live")
    page.get_by_role("button", name="Stop following").click()
    expect(page.locator("#tail")).to_have_count(0)


def test_a_screenshot_opens_full_size(admin_page: Page, tenant: Tenant) -> None:
    page = admin_page
    robot = make_robot(tenant.api)
    write_lines(
        tenant,
        robot,
        {"Message": "with a picture", "Screenshot": base64.b64encode(PNG).decode()},
    )
    page.goto(f"{tenant.server.url}/logs")
    thumbnail = page.get_by_role("img", name=re.compile("Screenshot of line"))
    expect(thumbnail).to_be_visible()
    with page.context.expect_page() as opened:
        thumbnail.click()
    full = opened.value
    full.wait_for_load_state()
    assert re.search(r"/logs/[0-9a-f-]+/screenshot$", full.url)
    answer = page.request.get(full.url)
    assert answer.headers["content-type"] == "image/png"
    assert answer.body() == PNG


def test_access_folders_are_created_edited_and_deleted(admin_page: Page, tenant: Tenant) -> None:
    page = admin_page
    base = tenant.server.url
    page.goto(f"{base}/folders")
    assert_accessible(page)
    page.get_by_role("link", name="New access folder").click()
    page.get_by_label("Name").fill("Finance")
    page.get_by_label("Description").fill("Money robots")
    assert_accessible(page)
    screenshot(page, "folder-form")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("Access folder 'Finance' created")
    expect(page.locator("#table tbody")).to_contain_text("Money robots")
    screenshot(page, "folders")

    page.get_by_role("link", name="Finance").click()
    page.get_by_label("Description").fill("Invoices and payments")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#table tbody")).to_contain_text("Invoices and payments")

    # A duplicate name is refused on the form, and nothing is added.
    page.get_by_role("link", name="New access folder").click()
    page.get_by_label("Name").fill("Finance")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_contain_text("Finance")
    page.goto(f"{base}/folders")
    expect(page.locator("#table tbody tr")).to_have_count(1)

    # Delete asks first: dismissed, nothing happens; accepted, the folder goes.
    page.get_by_role("link", name="Finance").click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#delete").click()
    expect(page.get_by_role("heading", name="Access folder Finance")).to_be_visible()
    assert [f["name"] for f in tenant.api.get("/api/accessFolder/read").json()] == ["Finance"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#delete").click()
    expect(page.get_by_role("status")).to_contain_text("Access folder deleted")
    expect(page.locator("#table tbody")).to_contain_text("Nothing to show")
    assert tenant.api.get("/api/accessFolder/read").json() == []


def test_the_delete_asks_on_a_page_without_the_script(browser: Browser, tenant: Tenant) -> None:
    """No script, no dialog: the server asks on a page and deletes only once confirmed."""
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        base = tenant.server.url
        plain.goto(f"{base}/login")
        plain.get_by_label("Login").fill(tenant.login)
        plain.get_by_label("Password").fill(tenant.password)
        plain.get_by_role("button", name="Sign in").click()
        plain.goto(f"{base}/folders/new")
        plain.get_by_label("Name").fill("Scratch")
        plain.get_by_role("button", name="Create").click()
        plain.get_by_role("link", name="Scratch").click()
        plain.locator("#delete").click()
        expect(plain.get_by_role("heading", name="Are you sure?")).to_be_visible()
        expect(plain.locator(".confirm-question")).to_contain_text("Delete this access folder?")
        plain.get_by_role("button", name="Yes, go on").click()
        expect(plain.get_by_role("status")).to_contain_text("Access folder deleted")
    finally:
        context.close()


def test_roles_and_users_are_managed_through_the_forms(admin_page: Page, tenant: Tenant) -> None:
    page = admin_page
    base = tenant.server.url
    accept_dialogs(page)
    page.goto(f"{base}/roles")
    expect(page.locator("#table tbody")).to_contain_text("Administrator")
    assert_accessible(page)
    screenshot(page, "roles")
    page.get_by_role("link", name="New role").click()
    page.get_by_label("Name").fill("Operators")
    page.get_by_label("Read Robots", exact=True).check()
    page.get_by_label("Read Jobs", exact=True).check()
    page.get_by_label("Update Jobs", exact=True).check()
    assert_accessible(page)
    screenshot(page, "role-form")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("Role 'Operators' created")
    expect(page.locator("#table tbody")).to_contain_text("Jobs: ru")
    role = next(r for r in tenant.api.get("/api/role/read").json() if r["name"] == "Operators")
    assert role["permissions"] == {"robot": "r", "job": "ru"}
    # The grid shows what the role holds; a right taken away is gone.
    page.get_by_role("link", name="Operators").click()
    expect(page.get_by_label("Update Jobs", exact=True)).to_be_checked()
    expect(page.get_by_label("Delete Jobs", exact=True)).not_to_be_checked()
    page.get_by_label("Update Jobs", exact=True).uncheck()
    page.get_by_label("Create Logs", exact=True).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Role 'Operators' saved")
    role = tenant.api.get(f"/api/role/read/{role['guid']}").json()
    assert role["permissions"] == {"robot": "r", "job": "r", "log": "c"}

    page.goto(f"{base}/users")
    assert_accessible(page)
    page.get_by_role("link", name="New user").click()
    login = f"ann-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill("ann-password-1")
    page.get_by_label("First name").fill("Ann")
    page.get_by_label("Operators").check()
    assert_accessible(page)
    screenshot(page, "user-form")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text(f"User '{login}' created")
    row = page.locator("#table tbody tr", has_text=login)
    expect(row).to_contain_text("Operators")
    screenshot(page, "users")

    # Block her, then delete her (after the question).
    page.get_by_role("link", name=login).click()
    page.get_by_label("Blocked (cannot sign in)").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#table tbody tr", has_text=login)).to_contain_text("yes")
    user = next(u for u in tenant.api.get("/api/user/read").json() if u["login"] == login)
    assert user["is_blocked"] is True
    page.get_by_role("link", name=login).click()
    page.locator("#delete").click()
    expect(page.get_by_role("status")).to_contain_text("User deleted")
    expect(page.locator("#table tbody")).not_to_contain_text(login)
    assert login not in {u["login"] for u in tenant.api.get("/api/user/read").json()}


def test_an_account_manager_creates_edits_and_deletes_accounts(page: Page, tenant: Tenant) -> None:
    manager = make_tenant(tenant.server, can_create_accounts=True)
    base = tenant.server.url
    sign_in(page, base, manager.login, manager.password)
    accept_dialogs(page)
    page.goto(f"{base}/accounts")
    assert_accessible(page)
    page.get_by_role("link", name="New account").click()
    login = f"acct-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password of its administrator").fill("acct-password-1")
    page.get_by_label("Company").fill("Acme")
    assert_accessible(page)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Account created")).to_be_visible()
    key = page.locator("#new-key").inner_text()
    with httpx.Client(base_url=base, headers={"Key": key}) as api:
        assert api.get("/api/user/read").status_code == 200
    screenshot(page, "account-created")
    page.get_by_role("link", name="Accounts").first.click()
    expect(page.locator("#table tbody tr", has_text=login)).to_contain_text("Acme")
    screenshot(page, "accounts")
    page.get_by_role("link", name=login).click()
    page.get_by_label("Company").fill("Acme Corp")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#table tbody tr", has_text=login)).to_contain_text("Acme Corp")
    page.get_by_role("link", name=login).click()
    page.locator("#delete").click()
    expect(page.get_by_role("status")).to_contain_text("Account deleted")
    expect(page.locator("#table tbody")).not_to_contain_text(login)
    manager.api.close()


def test_an_account_administrator_changes_only_its_own_setting(
    admin_page: Page, tenant: Tenant
) -> None:
    page = admin_page
    page.goto(f"{tenant.server.url}/accounts")
    expect(page.get_by_role("link", name="New account")).to_have_count(0)
    expect(page.locator("#table tbody tr")).to_have_count(1)
    page.get_by_role("link", name=tenant.login).click()
    assert_accessible(page)
    screenshot(page, "account-form")
    page.get_by_label(re.compile("Robots must send their secret")).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Account saved")
    account = tenant.api.get(f"/api/account/read/{tenant.guid}").json()
    assert account["require_robot_secret"] is True


def test_the_audit_lists_changes_with_filters_and_links(admin_page: Page, tenant: Tenant) -> None:
    page = admin_page
    base = tenant.server.url
    folder = tenant.api.post("/api/accessFolder/create", json={"Name": "Audited"})
    assert folder.status_code == 200, folder.text
    guid = folder.json()["guid"]
    page.goto(f"{base}/audit")
    expect(page.locator("#table tbody")).to_contain_text(guid)
    assert_accessible(page)
    screenshot(page, "audit")
    # Who did it links to the user (here the administrator who signed in).
    signed_in = page.locator("#table tbody tr", has_text="login").first
    expect(signed_in.get_by_role("link", name=tenant.login)).to_have_attribute(
        "href", re.compile(r"^/users/[0-9a-f-]{36}$")
    )
    page.get_by_label("Object type").select_option("access_folder")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("#table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("create")
    page.get_by_role("link", name=guid).click()
    expect(page.get_by_role("heading", name="Access folder Audited")).to_be_visible()


def test_the_api_key_is_shown_once_after_refresh(admin_page: Page, tenant: Tenant) -> None:
    page = admin_page
    base = tenant.server.url
    accept_dialogs(page)
    page.goto(f"{base}/api-key")
    expect(page.locator(".key-hint")).to_have_text("…" + tenant.key[-4:])
    expect(page.get_by_role("link", name="API reference (Swagger)")).to_have_attribute(
        "href", "/docs"
    )
    assert_accessible(page)
    screenshot(page, "api-key")
    page.get_by_role("button", name="Refresh").click()
    new_key = page.locator("#new-key").inner_text()
    assert re.fullmatch(r"[0-9a-f-]{36}", new_key) and new_key != tenant.key
    expect(page.get_by_role("status")).to_contain_text("shown only this once")
    screenshot(page, "api-key-issued")
    with httpx.Client(base_url=base) as api:
        assert api.get("/api/user/read", headers={"Key": tenant.key}).status_code == 401
        assert api.get("/api/user/read", headers={"Key": new_key}).status_code == 200
    page.goto(f"{base}/api-key")
    expect(page.locator(".key-hint")).to_have_text("…" + new_key[-4:])
    assert new_key not in page.content()

    page.get_by_role("button", name="Assign").click()
    assigned = page.locator("#new-key").inner_text()
    assert assigned not in {new_key, tenant.key}
    with httpx.Client(base_url=base) as api:
        assert api.get("/api/user/read", headers={"Key": new_key}).status_code == 401
        assert api.get("/api/user/read", headers={"Key": assigned}).status_code == 200

    page.locator("#sign-out").click()
    expect(page.get_by_role("status")).to_contain_text("You have signed out")
    page.goto(f"{base}/api-key")
    expect(page).to_have_url(re.compile(r"/login"))
