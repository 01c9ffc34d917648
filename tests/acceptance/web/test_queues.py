"""Queues and tasks in a real browser: queues with their counts per status, a queue's page
(settings, chart, filtered tasks, adding a task, counts updating live), a task's parameters
and history, and the status of many tasks changed at once."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from tests.acceptance.conftest import BACKENDS, Tenant
from tests.support.browser import assert_accessible, screenshot, sign_in
from tests.support.queues import add, make_queue, read


def _count(page: Page, status: str) -> Locator:
    return page.locator(f'#counts td[data-status="{status}"]')


def test_a_queue_is_created_edited_and_listed_with_its_counts(
    admin_page: Page, tenant: Tenant
) -> None:
    page, base = admin_page, tenant.server.url
    name = f"invoices-{uuid.uuid4().hex[:6]}"
    page.goto(f"{base}/queues")
    expect(page.get_by_role("heading", name="Queues", exact=True)).to_be_visible()
    page.get_by_role("link", name="New queue").click()
    expect(page.get_by_role("heading", name="New queue")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "queue-form")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Unique task names").check()
    page.get_by_label("Retries after the first try").fill("3")
    page.get_by_role("button", name="Create queue").click()
    expect(page.get_by_role("status")).to_have_text("Queue created.")
    expect(page.get_by_role("heading", name=f"Queue {name}")).to_be_visible()
    queue = tenant.api.get(f"/api/queue/read/{name}").json()
    assert (queue["unique_tasks"], queue["max_retries"]) == (1, 3)

    page.get_by_role("link", name="Edit settings").click()
    page.get_by_label("Description").fill("Invoices from the portal")
    page.get_by_label("Unique task names").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Queue saved.")
    expect(page.get_by_text("Invoices from the portal")).to_be_visible()
    queue = tenant.api.get(f"/api/queue/read/{name}").json()
    assert (queue["unique_tasks"], queue["description"]) == (0, "Invoices from the portal")

    add(tenant.api, name, "one")
    add(tenant.api, name, "two")
    page.goto(f"{base}/queues")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row.locator('td[data-label="New"]')).to_have_text("2")
    expect(row.locator('td[data-label="Total"]')).to_have_text("2")
    assert_accessible(page)
    screenshot(page, "queues")
    # The list is live too: a task added elsewhere shows up without a reload.
    add(tenant.api, name, "three")
    expect(row.locator('td[data-label="New"]')).to_have_text("3")
    expect(page.locator("#queues-chart svg desc")).to_contain_text(f"{name}: New 3")
    # After a live update the table's links still lead to the whole page.
    page.get_by_role("link", name="Total").click()
    expect(page).to_have_url(re.compile(r"/queues\?sort=total&dir=asc$"))
    expect(page.get_by_role("heading", name="Queues", exact=True)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert name in text and "In Progress" in text.splitlines()[0]

    # Deleting asks first; a queue with a task In Progress is refused, then deleted.
    tenant.api.post("/api/task/take", json={"Queue": name, "Count": 1})
    page.get_by_role("link", name=name).click()
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete queue").click()
    expect(page.get_by_role("alert")).to_contain_text("in progress")
    expect(page.get_by_role("heading", name=f"Queue {name}")).to_be_visible()
    taken = tenant.api.post(f"/api/task/filter/list/{name}", json={"Status": 1}).json()
    abandoned = tenant.api.put("/api/task/update", json={"Guid": taken[0]["guid"], "Status": 6})
    assert abandoned.status_code == 200, abandoned.text
    page.get_by_role("button", name="Delete queue").click()
    expect(page.get_by_role("status")).to_have_text("Queue deleted.")
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    assert tenant.api.get(f"/api/queue/read/{name}").status_code == 404


def test_a_reader_sees_queues_and_tasks_without_the_buttons_to_change_them(
    page: Page, tenant: Tenant
) -> None:
    queue = make_queue(tenant.api)
    task = add(tenant.api, queue, "look-only")
    role = f"readers-{uuid.uuid4().hex[:6]}"
    made = tenant.api.post(
        "/api/role/create",
        json={"Name": role, "Permissions": {"queue": "r", "task": "r"}},
    )
    assert made.status_code == 200, made.text
    login = f"reader-{uuid.uuid4().hex[:6]}"
    created = tenant.api.post(
        "/api/user/create", json={"Login": login, "Password": "password-123", "Roles": [role]}
    )
    assert created.status_code == 200, created.text
    sign_in(page, tenant.server.url, login, "password-123")
    page.goto(f"{tenant.server.url}/queues")
    expect(page.get_by_role("link", name=queue)).to_be_visible()
    expect(page.get_by_role("link", name="New queue")).to_have_count(0)
    # A click inside the live table before its first reload may land on a row being replaced.
    expect(
        page.locator("section[data-live-src='/queues/events'][data-live-ready='1']")
    ).to_have_count(1)
    page.get_by_role("link", name=queue).click()
    expect(page.get_by_role("link", name="look-only")).to_be_visible()
    for hidden in ("Edit settings", "Delete queue", "Add task", "Change status"):
        expect(
            page.get_by_role("button", name=hidden).or_(page.get_by_role("link", name=hidden))
        ).to_have_count(0)
    page.get_by_role("link", name="look-only").click()
    expect(page.get_by_label("Parameters (JSON object)")).to_be_visible()
    expect(page.get_by_role("button", name="Save task")).to_have_count(0)
    expect(page.get_by_role("button", name="Set status")).to_have_count(0)
    # The service refuses a change all the same (the form's post, forged).
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "robofleet_session")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    with tenant.client() as forged:
        forged.cookies.set("robofleet_session", token)
        answer = forged.post(
            f"/tasks/{task['guid']}/status",
            data={"csrf_token": csrf or "", "status": "6", "confirmed": "yes"},
            headers={"Referer": f"{tenant.server.url}/tasks/{task['guid']}"},
        )
    assert answer.status_code == 303
    assert read(tenant.api, task["guid"])["status"] == 0


@pytest.mark.parametrize("server", BACKENDS, indirect=True)
def test_tasks_are_added_filtered_and_counted_live(admin_page: Page, tenant: Tenant) -> None:
    page, base = admin_page, tenant.server.url
    queue = make_queue(tenant.api)
    guid = tenant.api.get(f"/api/queue/read/{queue}").json()["guid"]
    page.goto(f"{base}/queues/{guid}")
    expect(page.get_by_role("heading", name=f"Queue {queue}")).to_be_visible()
    expect(page.locator("#counts[data-live-ready]")).to_be_attached()
    expect(_count(page, "Total")).to_have_text("0")

    # Through the form: the parameters are the API's JSON object.
    form = page.locator("#add-task")
    form.get_by_label("Task name").fill("INV-1")
    form.get_by_label("Priority").select_option(label="High")
    form.get_by_label("Tags").fill("urgent;eu")
    form.get_by_label("Parameters (JSON object)").fill('{"invoice": "INV-1", "amount": 42}')
    form.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("status")).to_have_text("Task INV-1 added.")
    task = tenant.api.post(f"/api/task/filter/list/{queue}", json={}).json()[0]
    assert task["parameters"] == {"invoice": "INV-1", "amount": 42}
    assert (task["priority"], task["tags"]) == (3, "urgent;eu")

    # Bad JSON is refused with the API's message, nothing added.
    form = page.locator("#add-task")
    form.get_by_label("Task name").fill("INV-bad")
    form.get_by_label("Parameters (JSON object)").fill('{"invoice": ')
    form.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")

    # Through the API: the counts change on the open page, no reload.
    expect(_count(page, "New")).to_have_text("1")
    add(tenant.api, queue, "INV-2", Priority=1, Tags="eu")
    add(tenant.api, queue, "INV-3", Priority=2)
    expect(_count(page, "New")).to_have_text("3")
    expect(_count(page, "Total")).to_have_text("3")
    expect(page.locator("#counts svg > title")).to_have_text(f"Tasks of {queue} by status")
    expect(page.locator("#counts svg desc")).to_contain_text("New 3")
    taken = tenant.api.post("/api/task/take", json={"Queue": queue, "Count": 1}).json()
    assert taken["tasks"][0]["name"] == "INV-1"
    expect(_count(page, "In Progress")).to_have_text("1")
    expect(_count(page, "New")).to_have_text("2")

    page.reload()
    expect(page.locator("#tasks tbody tr")).to_have_count(3)
    assert_accessible(page)
    screenshot(page, "queue")
    # Filters: status, priority, tags, period.
    page.locator('#tasks select[name="status"]').select_option(label="New")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#tasks tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name="INV-1")).to_have_count(0)
    page.locator('#tasks select[name="status"]').select_option(label="Any")
    page.locator('#tasks input[name="tags"]').fill("+eu")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#tasks tbody tr")).to_have_count(2)
    page.locator('#tasks select[name="priority"]').select_option(label="Low")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#tasks tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="INV-2")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and lines[1].startswith("INV-2,New,Low,eu,")
    page.goto(f"{base}/queues/{guid}?from=2000-01-01&to=2000-12-31")
    expect(page.locator("#tasks tbody td.empty")).to_be_visible()
    page.goto(f"{base}/queues/{guid}?from=2000-01-01")
    expect(page.locator("#tasks tbody tr")).to_have_count(3)


def test_a_task_parameters_are_edited_and_its_history_shown(
    admin_page: Page, tenant: Tenant
) -> None:
    page, base = admin_page, tenant.server.url
    queue = make_queue(tenant.api)
    task = add(tenant.api, queue, "INV-9", Parameters={"invoice": "INV-9"})
    page.goto(f"{base}/tasks/{task['guid']}")
    expect(page.get_by_role("heading", name="Task INV-9")).to_be_visible()
    expect(page.locator("#task-status")).to_have_text("New")
    editor = page.get_by_label("Parameters (JSON object)")
    expect(editor).to_have_value(re.compile(r'"invoice": "INV-9"'))
    assert_accessible(page)
    screenshot(page, "task")
    editor.fill('{"invoice": "INV-9", "checked": true}')
    page.get_by_role("button", name="Save task").click()
    expect(page.get_by_role("status")).to_have_text("Task saved.")
    assert read(tenant.api, task["guid"])["parameters"] == {"invoice": "INV-9", "checked": True}
    page.get_by_label("Parameters (JSON object)").fill("[1, 2]")
    page.get_by_role("button", name="Save task").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert read(tenant.api, task["guid"])["parameters"] == {"invoice": "INV-9", "checked": True}

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_label("New status").select_option(label="Abandoned")
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_role("status")).to_have_text("Task set to Abandoned.")
    expect(page.locator("#task-status")).to_have_text("Abandoned")
    history = page.get_by_role("table").filter(has_text="set by hand")
    expect(history.get_by_role("row")).to_have_count(3)  # the header, added, abandoned
    assert read(tenant.api, task["guid"])["status"] == 6

    # A clone: a new task like it, New, with its parameters.
    page.get_by_role("button", name="Clone task").click()
    expect(page.get_by_role("status")).to_have_text("Task INV-9 cloned.")
    expect(page.locator("#task-status")).to_have_text("New")
    clone_guid = page.url.rsplit("/", 1)[-1]
    assert clone_guid != task["guid"]
    clone = read(tenant.api, clone_guid)
    assert (clone["name"], clone["parameters"]) == ("INV-9", {"invoice": "INV-9", "checked": True})
    page.get_by_role("button", name="Delete task").click()  # the dialog is accepted
    expect(page.get_by_role("status")).to_have_text("Task deleted.")
    expect(page.get_by_role("heading", name=f"Queue {queue}")).to_be_visible()
    assert tenant.api.get(f"/api/task/read/{clone_guid}").status_code == 404


def test_the_status_of_selected_tasks_is_changed_after_confirming(
    admin_page: Page, tenant: Tenant
) -> None:
    page, base = admin_page, tenant.server.url
    queue = make_queue(tenant.api)
    guid = tenant.api.get(f"/api/queue/read/{queue}").json()["guid"]
    tasks = [add(tenant.api, queue, f"T-{n}") for n in range(3)]
    page.goto(f"{base}/queues/{guid}")
    page.get_by_label(f"Select {tasks[0]['guid']}").check()
    page.get_by_label(f"Select {tasks[2]['guid']}").check()
    page.get_by_label("Set the selected tasks to").select_option(label="Abandoned")
    questions: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_label(f"Select {tasks[0]['guid']}")).to_be_checked()
    assert questions == ["Change the status of the selected tasks?"]
    assert read(tenant.api, tasks[0]["guid"])["status"] == 0  # dismissed: nothing changed

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status")).to_have_text("2 task(s) set to Abandoned.")
    expect(_count(page, "Abandoned")).to_have_text("2")
    statuses = [read(tenant.api, t["guid"])["status"] for t in tasks]
    assert statuses == [6, 0, 6]

    # Without the script's dialog the server asks on a page first.
    page.get_by_label("Select all rows").check()
    page.get_by_label("Set the selected tasks to").select_option(label="New")
    page.locator("#bulk").evaluate("form => form.removeAttribute('data-confirm')")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
    expect(page.get_by_text("Set 3 task(s) to New?")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Yes, go on").click()
    expect(page.get_by_role("status")).to_have_text("3 task(s) set to New.")
    assert [read(tenant.api, t["guid"])["status"] for t in tasks] == [0, 0, 0]


def test_another_account_queues_and_tasks_are_not_found(
    admin_page: Page, tenant: Tenant, other_tenant: Tenant
) -> None:
    page, base = admin_page, tenant.server.url
    queue = make_queue(other_tenant.api)
    guid = other_tenant.api.get(f"/api/queue/read/{queue}").json()["guid"]
    task = add(other_tenant.api, queue, "theirs")
    page.goto(f"{base}/queues")
    expect(page.get_by_role("link", name=queue)).to_have_count(0)
    for path in (f"/queues/{guid}", f"/tasks/{task['guid']}", f"/queues/{guid}/events"):
        answer = page.goto(f"{base}{path}")
        assert answer is not None and answer.status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
