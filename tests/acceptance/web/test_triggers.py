"""Triggers in a real browser: created through the tabs of its form, its next fire times,
tested (a job is created), disabled and enabled, edited, listed and deleted."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.acceptance.conftest import Tenant
from tests.support.browser import assert_accessible, screenshot
from tests.support.fleet import make_process, make_robot
from tests.support.queues import make_queue
from tests.support.resources import ok

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _accept_dialogs(page: Page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def test_a_scheduled_trigger_is_made_in_tabs_tested_disabled_and_enabled(
    admin_page: Page, tenant: Tenant
) -> None:
    page, base, api = admin_page, tenant.server.url, tenant.api
    robot_name = f"robot-{uuid.uuid4().hex[:6]}"
    robot = make_robot(api, robot_name)
    process_name = f"process-{uuid.uuid4().hex[:6]}"
    process = make_process(api, process_name)
    name = f"nightly-{uuid.uuid4().hex[:6]}"

    page.goto(f"{base}/triggers")
    page.get_by_role("link", name="New trigger").click()
    expect(page.get_by_role("heading", name="New trigger")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "trigger-form")
    tabs = page.get_by_role("tablist", name="Parts of the trigger")
    tabs.get_by_role("tab", name="Main").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Process").select_option(process)
    page.get_by_label("Job parameters (JSON object)").fill('{"from": "web"}')
    tabs.get_by_role("tab", name="Robots").click()
    page.get_by_label("One robot").select_option(robot)
    tabs.get_by_role("tab", name="Schedule").click()
    page.get_by_label("Type", exact=True).select_option("cron")
    page.get_by_label("Cron").fill("30 9 * * *")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    # A required field on another tab: the browser's check shows its tab.
    page.get_by_label("Name", exact=True).evaluate("field => { field.value = ''; }")
    page.get_by_role("button", name="Create trigger").click()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create trigger").click()

    expect(page.get_by_role("status")).to_have_text("Trigger created.")
    expect(page.get_by_role("heading", name=f"Trigger {name}")).to_be_visible()
    expect(page.locator("#trigger-status")).to_have_text("Enabled")
    fire_times = page.locator("#fire-times li")
    expect(fire_times).to_have_count(5)
    expect(fire_times.first).to_contain_text(re.compile(r"T09:30:00\+0[12]:00 in Europe/Berlin"))
    expect(page.locator("#next-fire time")).to_be_attached()
    assert_accessible(page)
    screenshot(page, "trigger")
    trigger = ok(api.get(f"/api/schedule/read/{name}"))
    assert (trigger["cron_tab"], trigger["robot_guid"], trigger["process_guid"]) == (
        "30 9 * * *",
        robot,
        process,
    )
    assert trigger["parameters"] == {"from": "web"}
    assert trigger["next_fire_at"] is not None

    # Test: a job is created now, as the trigger would create it.
    _accept_dialogs(page)
    page.get_by_role("button", name="Test now").click()
    expect(page.get_by_role("status")).to_contain_text("Test: job")
    message = page.get_by_role("status").inner_text()
    found = re.search(GUID, message)
    assert found is not None, message
    job = ok(api.get(f"/api/job/read/{found.group(0)}"))
    assert (job["source"], job["schedule_id"]) == ("Trigger", trigger["id"])
    expect(page.get_by_role("cell", name="test", exact=True)).to_be_visible()

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_have_text("Trigger disabled.")
    expect(page.locator("#trigger-status")).to_have_text("Disabled")
    expect(page.locator("#next-fire")).to_have_text("—")
    disabled = ok(api.get(f"/api/schedule/read/{name}"))
    assert (disabled["status"], disabled["next_fire_at"]) == (0, None)
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_have_text("Trigger enabled.")
    expect(page.locator("#trigger-status")).to_have_text("Enabled")
    assert ok(api.get(f"/api/schedule/read/{name}"))["status"] == 1

    page.goto(f"{base}/triggers")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row.locator('td[data-label="Process"]')).to_have_text(process_name)
    expect(row.locator('td[data-label="Robots"]')).to_have_text(robot_name)
    expect(row.locator('td[data-label="Type"]')).to_have_text("By schedule (cron)")
    expect(row.locator('td[data-label="Status"]')).to_have_text("Enabled")
    expect(row.locator('td[data-label="Next fire (UTC)"]')).to_have_text(
        re.compile(r"\d{4}-\d\d-\d\d \d\d:30:00")
    )
    assert_accessible(page)
    screenshot(page, "triggers")
    page.locator('#triggers select[name="kind"]').select_option("continuous")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    page.locator('#triggers select[name="kind"]').select_option("cron")
    page.locator('#triggers select[name="status"]').select_option("1")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name=name)).to_be_visible()


def test_a_trigger_is_edited_and_deleted(admin_page: Page, tenant: Tenant) -> None:
    page, base, api = admin_page, tenant.server.url, tenant.api
    robot = make_robot(api)
    process = make_process(api)
    queue = make_queue(api)
    name = f"edit-{uuid.uuid4().hex[:6]}"
    ok(
        api.post(
            "/api/schedule/create",
            json={
                "Name": name,
                "ProcessingType": 2,
                "CronTab": "0 6 * * *",
                "RobotId": robot,
                "ProcessId": process,
            },
        )
    )
    page.goto(f"{base}/triggers/{name}")
    page.get_by_role("link", name="Edit", exact=True).click()
    # Tabs: one part shows at a time; the keyboard moves between them.
    main_tab = page.get_by_role("tab", name="Main")
    expect(main_tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Cron")).to_be_hidden()
    main_tab.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Schedule")).to_be_focused()
    expect(page.get_by_role("tab", name="Schedule")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Cron")).to_have_value("0 6 * * *")
    expect(page.get_by_label("Name", exact=True)).to_be_hidden()
    assert_accessible(page)
    # A mistake is refused with the API's message and changes nothing.
    page.get_by_label("Cron").fill("not a cron")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("CronTab")
    assert ok(api.get(f"/api/schedule/read/{name}"))["cron_tab"] == "0 6 * * *"

    # A working-day calendar: the n-th working day of the month.
    calendar = f"weekdays-{uuid.uuid4().hex[:6]}"
    ok(api.post("/api/asset/create", json={"Name": calendar, "Type": 3, "Text": "{}"}))
    page.goto(f"{base}/triggers/{name}/edit#tab-schedule")
    page.get_by_label("Type", exact=True).select_option("nth_day")
    page.get_by_label("Day of the month").fill("2")
    page.get_by_label("Time of day").fill("07:15")
    page.get_by_label("Working-day calendar").select_option(label=calendar)
    page.get_by_label("Last or n-th day counts working days").check()
    page.get_by_label("No fire on non-working days").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Trigger saved.")
    expect(page.locator("#fire-times li").first).to_contain_text("T07:15:00")
    nth = ok(api.get(f"/api/schedule/read/{name}"))
    assert (nth["schedule_kind"], nth["day_of_month"], nth["time_of_day"]) == (
        "nth_day",
        2,
        "07:15",
    )
    assert (nth["working_days"], nth["skip_non_working_days"]) == (1, 1)
    assert nth["calendar_id"] is not None and nth["cron_tab"] is None

    page.goto(f"{base}/triggers/{name}/edit#tab-schedule")
    page.get_by_label("Working-day calendar").select_option(label="None")
    page.get_by_label("Last or n-th day counts working days").uncheck()
    page.get_by_label("No fire on non-working days").uncheck()
    page.get_by_label("Type", exact=True).select_option("continuous")
    page.get_by_role("tab", name="Queue").click()
    page.get_by_label("Watched queue").select_option(label=queue)
    page.get_by_label("Fire when New tasks are more than").fill("4")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Trigger saved.")
    expect(page.get_by_text("A continuous trigger has no fire times")).to_be_visible()
    edited = ok(api.get(f"/api/schedule/read/{name}"))
    assert (edited["schedule_kind"], edited["queue_name"]) == ("continuous", queue)
    assert edited["queue_condition"]["min_new_tasks"] == 4
    assert edited["cron_tab"] is None

    _accept_dialogs(page)
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Trigger deleted.")
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    assert api.get(f"/api/schedule/read/{name}").status_code == 404


def test_an_e_mail_trigger_is_made_in_its_tab(admin_page: Page, tenant: Tenant) -> None:
    page, base, api = admin_page, tenant.server.url, tenant.api
    robot = make_robot(api)
    process = make_process(api)
    queue = make_queue(api)
    login = f"mailbox-{uuid.uuid4().hex[:6]}"
    ok(
        api.post(
            "/api/asset/create",
            json={"Name": login, "Type": 1, "Text": "bot@example.com", "Password": "mail-password"},
        )
    )
    name = f"mail-{uuid.uuid4().hex[:6]}"
    page.goto(f"{base}/triggers/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Process").select_option(process)
    page.get_by_role("tab", name="Robots").click()
    page.get_by_label("One robot").select_option(robot)
    page.get_by_role("tab", name="Schedule").click()
    page.get_by_label("Type", exact=True).select_option("continuous")
    page.get_by_role("tab", name="E-mail").click()
    page.get_by_label("Mail server").fill("imap.example.com")
    page.get_by_label("Login (a Credentials resource)").select_option(label=login)
    page.get_by_label("Subject contains").fill("Invoice, Rechnung")
    page.get_by_label("Mark them read").uncheck()
    page.get_by_label("Queue that receives the mails").select_option(label=queue)
    assert_accessible(page)
    page.get_by_role("button", name="Create trigger").click()
    expect(page.get_by_role("status")).to_have_text("Trigger created.")
    expect(page.get_by_text("imap imap.example.com / INBOX")).to_be_visible()
    mail = ok(api.get(f"/api/schedule/read/{name}"))["mail_condition"]
    assert (mail["server"], mail["port"], mail["mark_read"]) == ("imap.example.com", 993, False)
    assert mail["subject_contains"] == ["Invoice", "Rechnung"]

    # Edited: the tab shows what is stored, and a change keeps the rest.
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_role("tab", name="E-mail").click()
    expect(page.get_by_label("Subject contains")).to_have_value("Invoice, Rechnung")
    expect(page.get_by_label("Login (a Credentials resource)")).to_have_value(
        str(mail["credential_id"])
    )
    page.get_by_label("Check every (minutes)").fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Trigger saved.")
    mail = ok(api.get(f"/api/schedule/read/{name}"))["mail_condition"]
    assert (mail["check_minutes"], mail["subject_contains"]) == (5, ["Invoice", "Rechnung"])


def test_another_account_trigger_is_not_found_nor_changed(
    admin_page: Page, tenant: Tenant, other_tenant: Tenant
) -> None:
    page, base, theirs = admin_page, tenant.server.url, other_tenant.api
    name = f"theirs-{uuid.uuid4().hex[:6]}"
    guid = ok(
        theirs.post(
            "/api/schedule/create",
            json={
                "Name": name,
                "CronTab": "0 6 * * *",
                "RobotId": make_robot(theirs),
                "ProcessId": make_process(theirs),
            },
        )
    )["guid"]
    page.goto(f"{base}/triggers")
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.goto(f"{base}/triggers/{guid}")
    assert answer is not None and answer.status == 404
    # A post with this session's token still finds nothing to disable.
    posted = page.request.post(
        f"{base}/triggers/{guid}/disable",
        form={"csrf_token": csrf or "", "confirmed": "yes"},
        max_redirects=0,
    )
    assert posted.status == 303
    assert ok(theirs.get(f"/api/schedule/read/{guid}"))["status"] == 1
