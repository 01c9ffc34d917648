"""Resources in a real browser: credentials masked until shown (and the reveal audited), a user
without the right refused, texts and groups edited, the calendar editor and its JSON."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.acceptance.conftest import Tenant
from tests.support.browser import assert_accessible, screenshot, sign_in


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _credential(tenant: Tenant, name: str, password: str) -> str:
    body = {"Name": name, "Type": 1, "Text": "clerk", "Password": password}
    return str(_ok(tenant.api.post("/api/asset/create", json=body))["guid"])


def _reveals(tenant: Tenant, guid: str) -> list[dict[str, Any]]:
    params = {"ObjectGuid": guid, "Action": "reveal"}
    return list(_ok(tenant.api.get("/api/audit/list", params=params))["items"])


def test_a_credential_stays_masked_until_shown_and_the_reveal_is_audited(
    admin_page: Page, tenant: Tenant
) -> None:
    page, base = admin_page, tenant.server.url
    secret = f"S3cret-{uuid.uuid4().hex[:10]}"
    guid = _credential(tenant, "erp-login", secret)
    old = {
        "Name": "old-login",
        "Type": 1,
        "Text": "x",
        "Password": "p",
        "PasswordExpiration": "2020-01-02 03:04:05",
    }
    _ok(tenant.api.post("/api/asset/create", json=old))
    page.goto(f"{base}/resources")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="erp-login"))
    expect(row).to_contain_text("Credentials")
    expect(row).to_contain_text("clerk")
    expect(row).to_contain_text("********")
    expect(row).not_to_contain_text("expired")
    expired = page.get_by_role("row").filter(has=page.get_by_role("link", name="old-login"))
    expect(expired).to_contain_text("expired 2020-01-02 03:04")
    assert secret not in page.content()
    assert_accessible(page)
    screenshot(page, "resources-list")

    row.get_by_role("link", name="erp-login").click()
    expect(page.get_by_role("heading", name="Credentials erp-login")).to_be_visible()
    expect(page.locator("#password")).to_contain_text("********")
    assert secret not in page.content()
    assert _reveals(tenant, guid) == []
    assert_accessible(page)
    screenshot(page, "resource-credential")

    page.get_by_role("button", name="Show password").click()
    expect(page.locator("#password output")).to_have_text(secret)
    assert_accessible(page)
    screenshot(page, "resource-password-shown")
    reveals = _reveals(tenant, guid)
    assert len(reveals) == 1
    assert reveals[0]["actor_name"] == tenant.login
    assert "erp-login" in reveals[0]["message"]
    assert secret not in json.dumps(reveals)
    # Hidden again once the user leaves the answer to the reveal.
    page.get_by_role("link", name="Hide password").click()
    expect(page.locator("#password")).to_contain_text("********")
    assert secret not in page.content()


def test_a_user_without_the_update_right_cannot_reveal(page: Page, tenant: Tenant) -> None:
    base = tenant.server.url
    secret = f"S3cret-{uuid.uuid4().hex[:10]}"
    guid = _credential(tenant, "vault", secret)
    role = f"readers-{uuid.uuid4().hex[:6]}"
    _ok(tenant.api.post("/api/role/create", json={"Name": role, "Permissions": {"resource": "r"}}))
    login = f"reader-{uuid.uuid4().hex[:8]}"
    _ok(
        tenant.api.post(
            "/api/user/create",
            json={"Login": login, "Password": "reader-pass-123", "Roles": [role]},
        )
    )
    sign_in(page, base, login, "reader-pass-123")
    page.goto(f"{base}/resources/{guid}")
    expect(page.locator("#password")).to_contain_text("takes the Update right")
    expect(page.get_by_role("button", name="Show password")).to_have_count(0)
    expect(page.get_by_role("heading", name="Edit")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "resource-credential-reader")
    # A hand-made post (the session's own CSRF token) is refused by the service too.
    page.evaluate(
        """(guid) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = `/resources/${guid}/password`;
            const token = document.createElement("input");
            token.type = "hidden"; token.name = "csrf_token";
            token.value = document.querySelector('meta[name="csrf-token"]').content;
            form.appendChild(token);
            document.body.appendChild(form);
            form.submit();
        }""",
        guid,
    )
    expect(page.get_by_role("alert")).to_contain_text("may not see passwords")
    expect(page).to_have_url(re.compile(f"/resources/{guid}$"))
    assert secret not in page.content()
    assert _reveals(tenant, guid) == []


def test_resources_and_groups_are_created_edited_and_deleted(
    admin_page: Page, tenant: Tenant
) -> None:
    page, base = admin_page, tenant.server.url
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/resources/groups")
    page.get_by_label("Name", exact=True).fill("ERP")
    page.get_by_label("Description").fill("The ERP's logins")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("status")).to_contain_text("Resource group ERP created")
    expect(page.get_by_role("link", name="ERP", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "resource-groups")

    page.goto(f"{base}/resources/new?type=1")
    assert_accessible(page)
    screenshot(page, "resource-new-credential")
    page.get_by_label("Name", exact=True).fill("erp-bot")
    page.get_by_label("Login").fill("bot@erp")
    page.get_by_label("Password", exact=True).fill("first-pass-1")
    page.get_by_label("Resource group").select_option(label="ERP")
    page.get_by_role("button", name="Create resource").click()
    expect(page.get_by_role("status")).to_contain_text("Resource erp-bot created")
    guid = page.url.rsplit("/", 1)[-1]
    stored = _ok(tenant.api.get(f"/api/asset/read/{guid}"))
    assert (stored["text"], stored["password"]) == ("bot@erp", "first-pass-1")
    assert stored["resource_group_guid"] is not None
    assert "first-pass-1" not in page.content()

    # Edit: an empty password keeps the stored one.
    page.get_by_label("Description").fill("Used by the night run")
    page.get_by_role("button", name="Save resource").click()
    expect(page.get_by_role("status")).to_contain_text("Resource saved")
    stored = _ok(tenant.api.get(f"/api/asset/read/{guid}"))
    assert (stored["description"], stored["password"]) == ("Used by the night run", "first-pass-1")

    # Scoped to one robot group, named by its name.
    group = f"night-{uuid.uuid4().hex[:6]}"
    group_guid = _ok(tenant.api.post("/api/robotGroup/create", json={"Name": group}))["GUID"]
    page.get_by_label("Scope").select_option(label="One robot group")
    page.get_by_label("Robot group", exact=True).fill(group)
    page.get_by_role("button", name="Save resource").click()
    expect(page.get_by_role("status")).to_contain_text("Resource saved")
    expect(page.locator("dl.facts")).to_contain_text(f"One robot group: {group}")
    stored = _ok(tenant.api.get(f"/api/asset/read/{guid}"))
    assert (stored["robot_type"], stored["robot_group_guid"]) == (2, str(group_guid).lower())

    # A text resource, filtered by type in the list.
    page.goto(f"{base}/resources/new?type=2")
    page.get_by_label("Name", exact=True).fill("greeting")
    page.get_by_label("Value").fill("hello robots")
    page.get_by_role("button", name="Create resource").click()
    expect(page.locator("pre.value")).to_have_text("hello robots")
    page.goto(f"{base}/resources?type=2")
    expect(page.get_by_role("link", name="greeting")).to_be_visible()
    expect(page.get_by_role("link", name="erp-bot")).to_have_count(0)
    page.goto(f"{base}/resources/groups")
    page.get_by_role("link", name="Resources in ERP").click()
    expect(page.get_by_text("The resources of group ERP")).to_be_visible()
    expect(page.get_by_role("link", name="erp-bot")).to_be_visible()
    expect(page.get_by_role("link", name="greeting")).to_have_count(0)
    page.goto(f"{base}/resources?q=erp-bot")
    page.get_by_role("link", name="erp-bot").click()

    page.get_by_role("button", name="Delete resource").click()
    expect(page.get_by_role("status")).to_contain_text("Resource deleted")
    assert tenant.api.get(f"/api/asset/read/{guid}").status_code == 404


def test_the_calendar_editor_sets_days_and_exports_and_imports_json(
    admin_page: Page, tenant: Tenant, tmp_path: Path
) -> None:
    page, base = admin_page, tenant.server.url
    page.on("dialog", lambda dialog: dialog.accept())
    body = {"Name": "plant-days", "Type": 3, "Text": json.dumps({"weekend": [6, 7]})}
    guid = str(_ok(tenant.api.post("/api/asset/create", json=body))["guid"])
    page.goto(f"{base}/resources/{guid}")
    page.get_by_role("link", name="Open the calendar").click()
    page.goto(f"{base}/resources/{guid}/calendar?month=2026-05")
    expect(page.get_by_role("heading", name="May 2026")).to_be_visible()
    expect(page.locator("#d-2026-05-04")).to_have_value("working")  # a Monday
    expect(page.locator("#d-2026-05-09")).to_have_value("non_working")  # a Saturday
    assert_accessible(page)
    screenshot(page, "resource-calendar")

    page.get_by_label("Monday 4 May 2026").select_option("holiday")
    page.get_by_label("Saturday 9 May 2026").select_option("working")
    page.get_by_label("Tuesday 5 May 2026").select_option("non_working")
    page.get_by_role("button", name="Save calendar").click()
    expect(page.get_by_role("status")).to_contain_text("Calendar saved")
    expect(page.locator("#d-2026-05-04")).to_have_value("holiday")
    expect(page.locator("#d-2026-05-09")).to_have_value("working")
    expect(page.locator("#d-2026-05-05")).to_have_value("non_working")
    saved = _ok(tenant.api.get(f"/api/asset/calendar/{guid}"))
    assert saved == {
        "weekend": [6, 7],
        "working": ["2026-05-09"],
        "non_working": ["2026-05-05"],
        "holidays": ["2026-05-04"],
    }

    # Months move; other months' days are kept when one is saved.
    page.get_by_role("link", name=re.compile("June 2026")).click()
    expect(page.get_by_role("heading", name="June 2026")).to_be_visible()
    page.get_by_label("Monday 1 June 2026").select_option("holiday")
    page.get_by_role("button", name="Save calendar").click()
    expect(page.get_by_role("status")).to_contain_text("Calendar saved")
    saved = _ok(tenant.api.get(f"/api/asset/calendar/{guid}"))
    assert saved["holidays"] == ["2026-05-04", "2026-06-01"]

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export JSON").click()
    exported = json.loads(Path(download_info.value.path()).read_text())
    assert exported == saved
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export iCalendar (.ics)").click()
    ics = Path(download_info.value.path()).read_text()
    assert ics.startswith("BEGIN:VCALENDAR") and "20260601" in ics

    replacement = {"weekend": [7], "working": [], "non_working": [], "holidays": ["2026-06-02"]}
    page.get_by_label("Or paste the calendar's JSON").fill(json.dumps(replacement))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text("Calendar imported")
    assert _ok(tenant.api.get(f"/api/asset/calendar/{guid}")) == replacement
    page.goto(f"{base}/resources/{guid}/calendar?month=2026-06")
    expect(page.locator("#d-2026-06-01")).to_have_value("working")
    expect(page.locator("#d-2026-06-02")).to_have_value("holiday")
    expect(page.locator("#d-2026-06-06")).to_have_value("working")  # Saturday: no longer off
    expect(page.locator("#d-2026-06-07")).to_have_value("non_working")

    # A file works too; a broken one is refused with the reason and changes nothing.
    broken = tmp_path / "broken.json"
    broken.write_text('{"holidays": ["not a date"]}')
    page.get_by_label("Calendar file").set_input_files(str(broken))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("not a date")
    expect(page).to_have_url(re.compile(f"/resources/{guid}/calendar"))
    assert _ok(tenant.api.get(f"/api/asset/calendar/{guid}")) == replacement
