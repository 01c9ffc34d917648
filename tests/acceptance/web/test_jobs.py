"""Processes, versions and jobs in a real browser: upload a version with the form, make it
current, start a job on a real agent and watch its log and status live; stop, abort, clone
and delete with confirmation; the jobs list's filters and CSV export."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.acceptance.conftest import BACKENDS, Tenant
from tests.support.agent import AgentProcess
from tests.support.browser import assert_accessible, screenshot
from tests.support.fleet import create_job, make_process, make_robot, upload_version, zip_package

LIVE_JOB = """
import time
from robofleet import sdk

name = sdk.parameter("name", "nobody")
time.sleep(2)
for step in range(1, 4):
    print(f"step {step} for {name}")
    sdk.set_progress(30 * step)
    time.sleep(1)
sdk.log("Info", "all <b>done</b> & dusted")
sdk.set_return_value({"greeted": name})
"""


@pytest.fixture
def agents() -> Iterator[list[AgentProcess]]:
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.stop()


def accept_next_dialog(page: Page) -> list[str]:
    """Accept the next confirmation dialog; the list gets its message."""
    seen: list[str] = []

    def accept(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    return seen


@pytest.mark.parametrize("server", BACKENDS, indirect=True)
def test_upload_make_current_and_watch_a_job_run_live(
    admin_page: Page, tenant: Tenant, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    page, base, api = admin_page, tenant.server.url, tenant.api
    robot_name = f"web-robot-{uuid.uuid4().hex[:6]}"
    robot = make_robot(api, robot_name)
    agents.append(AgentProcess(base, robot, tmp_path / "agent", cache_dir=tmp_path / "cache"))
    agents[0].start()

    # A process, created with the form.
    name = f"greeter-{uuid.uuid4().hex[:6]}"
    page.goto(f"{base}/processes")
    expect(page.get_by_role("heading", name="Processes", exact=True)).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Description").fill("Says hello")
    page.get_by_role("button", name="Create process").click()
    expect(page.get_by_role("heading", name=f"Process {name}")).to_be_visible()
    expect(page.locator(".flash")).to_contain_text(f"Process '{name}' created")
    expect(page.locator("#current-version")).to_contain_text("none yet")

    # The first version: current at once (the upload runs through the script, with progress).
    old = zip_package({"main.py": "print('old version')\n"})
    page.locator("#f-ProcessFile").set_input_files(
        files=[{"name": "old.zip", "mimeType": "application/zip", "buffer": old}]
    )
    page.get_by_label("Version name").fill("v1")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".flash")).to_contain_text("Version 'v1' uploaded")
    expect(page.locator("#current-version")).to_contain_text("v1 (old.zip)")

    # The second, kept aside, then made current by hand.
    new = zip_package({"main.py": LIVE_JOB})
    page.locator("#f-ProcessFile").set_input_files(
        files=[{"name": "live.zip", "mimeType": "application/zip", "buffer": new}]
    )
    page.get_by_label("Version name").fill("v2")
    page.get_by_label("Current version", exact=True).select_option("0")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".flash")).to_contain_text("Version 'v2' uploaded")
    versions = page.locator("#versions tbody tr")
    expect(versions).to_have_count(2)
    v2 = versions.filter(has_text="live.zip")
    v1 = versions.filter(has_text="old.zip")
    expect(v1).to_contain_text("Current")
    expect(v1).to_have_class("current")
    expect(v2).not_to_contain_text("Current")
    assert_accessible(page)
    screenshot(page, "process")
    v2.get_by_role("button", name="Make current").click()
    expect(page.locator(".flash")).to_contain_text("Version 'v2' is now current")
    expect(v2).to_have_class("current")
    expect(v2.locator(".badge")).to_have_text("Current")
    expect(v1).not_to_have_class("current")
    process = next(p for p in api.get("/api/process/read").json() if p["name"] == name)
    current = api.get(f"/api/processVersion/read/{process['process_version_guid']}").json()
    assert current["name"] == "v2" and current["is_current"] == 1

    # The version's file, downloaded.
    with page.expect_download() as download_info:
        v2.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "live.zip"
    assert Path(download.path()).read_bytes() == new

    # Start a job on the robot.
    page.get_by_role("link", name="Start a job").click()
    expect(page.get_by_role("heading", name="Start a job")).to_be_visible()
    expect(page.get_by_label("Process")).to_have_value(process["guid"])
    page.get_by_label("Robot", exact=True).select_option(label=robot_name)
    page.get_by_label("Parameters (a JSON object)").fill('{"name": "Ada"}')
    page.get_by_label("Priority").select_option(label="High")
    assert_accessible(page)
    screenshot(page, "job-new")
    # A mistake in the parameters is the API's message, and no job.
    page.get_by_label("Parameters (a JSON object)").fill('{"name": ')
    page.get_by_role("button", name="Start job").click()
    expect(page.locator(".flash-error")).to_contain_text("Parameters")
    expect(page.locator(".flash-error")).to_contain_text("JSON")
    assert api.get("/api/job/list", params={"Process": process["guid"]}).json()["total"] == 0
    page.get_by_label("Robot", exact=True).select_option(label=robot_name)
    page.get_by_label("Parameters (a JSON object)").fill('{"name": "Ada"}')
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_role("button", name="Start job").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    job = page.url.rsplit("/", 1)[1]
    # Not finished when the page loads: what follows arrives live, without a reload.
    expect(page.locator("#job-status")).not_to_have_text("Success", timeout=1000)
    page.evaluate("window.__sameDocument = 'yes'")
    expect(page.locator("#job-live")).to_have_attribute("data-live-ready", "1")
    expect(page.locator("#job-log")).to_have_attribute("data-live-ready", "1")

    log = page.locator("#job-log li")
    expect(log.filter(has_text="step 1 for Ada")).to_be_visible(timeout=60_000)
    expect(page.locator("#job-status")).to_have_text("In Progress", timeout=30_000)
    expect(page.locator("#job-robot")).to_have_text(robot_name)
    expect(log.filter(has_text="step 3 for Ada")).to_be_visible(timeout=30_000)
    expect(page.locator("#job-status")).to_have_text("Success", timeout=60_000)
    expect(page.locator("#job-progress-text")).to_have_text("100%")
    expect(page.locator("#job-return")).to_contain_text('"greeted": "Ada"')
    expect(page.locator("#job-timeline li.done")).to_have_count(3)
    expect(page.locator("#job-timeline")).to_contain_text("Finished (Success)")
    # The line is text: its markup is escaped, not run.
    expect(log.filter(has_text="all <b>done</b> & dusted")).to_have_count(1)
    expect(page.locator("#job-log b")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") == "yes"
    assert page.locator("#job-log li", has_text="step 2 for Ada").count() == 1  # no repeats
    assert_accessible(page)
    screenshot(page, "job")

    read = api.get(f"/api/job/read/{job}").json()
    assert read["status"] == 4 and read["source"] == "GUI" and read["priority"] == 3
    assert read["process_version_guid"] == current["guid"]
    assert read["parameters"] == {"name": "Ada"}

    # A reload shows the same lines, rendered on the server.
    page.reload()
    expect(page.locator("#job-log li", has_text="step 2 for Ada")).to_have_count(1)
    expect(page.locator("#job-status")).to_have_text("Success")


def test_stop_abort_clone_and_delete_ask_first(admin_page: Page, tenant: Tenant) -> None:
    page, base, api = admin_page, tenant.server.url, tenant.api
    robot_name = f"idle-{uuid.uuid4().hex[:6]}"
    robot = make_robot(api, robot_name)  # no agent: the jobs stay pending
    process = make_process(api)
    job = str(create_job(api, process, Robot=robot, Parameters={"n": 1})["guid"])

    page.goto(f"{base}/jobs/{job}")
    expect(page.locator("#job-status")).to_have_text("Pending")
    expect(page.locator("#job-robot")).to_have_text(robot_name)
    expect(page.locator("#delete-job")).to_have_count(0)  # not ended: no delete

    # Dismissed: nothing happens.
    dismissed: list[str] = []
    page.once("dialog", lambda dialog: (dismissed.append(dialog.message), dialog.dismiss()))
    page.locator("#stop-job").click()
    expect(page.locator("#job-status")).to_have_text("Pending")
    assert dismissed == ["Ask this job to stop?"]
    assert api.get(f"/api/job/read/{job}").json()["status"] == 1

    # Clone: a new pending job like this one.
    seen = accept_next_dialog(page)
    page.locator("#clone-job").click()
    expect(page.locator(".flash")).to_contain_text("Job cloned")
    clone = page.url.rsplit("/", 1)[1]
    assert clone != job and seen == ["Start a new job like this one?"]
    cloned = api.get(f"/api/job/read/{clone}").json()
    assert cloned["status"] == 1 and cloned["parameters"] == {"n": 1}

    # Abort the clone: never taken, it ends at once.
    accept_next_dialog(page)
    page.locator("#abort-job").click()
    expect(page.locator(".flash")).to_contain_text("Abort requested")
    expect(page.locator("#job-status")).to_have_text("Aborted")
    assert api.get(f"/api/job/read/{clone}").json()["status"] == 3

    # Stop the first: it ends Stopped, and can then be deleted.
    page.goto(f"{base}/jobs/{job}")
    accept_next_dialog(page)
    page.locator("#stop-job").click()
    expect(page.locator("#job-status")).to_have_text("Stopped")
    expect(page.locator("#job-message")).to_have_text("stopped before it started")
    expect(page.locator("#stop-job")).to_have_count(0)
    seen = accept_next_dialog(page)
    page.locator("#delete-job").click()
    expect(page).to_have_url(re.compile(r"/jobs$"))
    expect(page.locator(".flash")).to_contain_text("Job deleted")
    assert seen == ["Delete this job?"]
    assert api.get(f"/api/job/read/{job}").status_code == 404
    expect(page.locator("#jobs tbody")).not_to_contain_text(job[:8])
    expect(page.locator("#jobs tbody")).to_contain_text(clone[:8])

    # Without the script, the server asks on a page first.
    bare = page.context.new_page()
    bare.route("**/static/app.js*", lambda route: route.abort())
    bare.goto(f"{base}/jobs/{clone}")
    bare.locator("#delete-job").click()
    expect(bare.get_by_role("heading", name="Are you sure?")).to_be_visible()
    expect(bare.locator(".confirm-question")).to_have_text("Delete this job?")
    assert api.get(f"/api/job/read/{clone}").status_code == 200
    bare.get_by_role("button", name="Yes, go on").click()
    expect(bare.locator(".flash")).to_contain_text("Job deleted")
    bare.close()
    assert api.get(f"/api/job/read/{clone}").status_code == 404


def test_the_jobs_list_filters_and_exports(admin_page: Page, tenant: Tenant) -> None:
    page, base, api = admin_page, tenant.server.url, tenant.api
    robot = make_robot(api, f"filter-robot-{uuid.uuid4().hex[:4]}")
    first = make_process(api, f"alpha-{uuid.uuid4().hex[:6]}")
    second = make_process(api, f"beta-{uuid.uuid4().hex[:6]}")
    pending = [str(create_job(api, first, Robot=robot)["guid"]) for _ in range(2)]
    stopped = str(create_job(api, second)["guid"])
    assert api.post("/api/job/stop", json={"Guid": stopped}).json()["status"] == 7

    page.goto(f"{base}/jobs")
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    rows = page.locator("#jobs tbody tr")
    expect(rows).to_have_count(3)
    assert_accessible(page)
    screenshot(page, "jobs")

    page.get_by_label("Status").select_option(label="Stopped")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(stopped[:8])
    expect(rows.first.locator(".badge")).to_have_text("Stopped")
    assert "status=7" in page.url

    page.get_by_label("Status").select_option(label="Any status")
    page.get_by_label("Process").select_option(value=first)
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(2)
    for guid in pending:
        expect(page.locator("#jobs tbody")).to_contain_text(guid[:8])

    page.get_by_label("Robot").select_option(value=robot)
    page.get_by_label("Period created").select_option(label="Last hour")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(2)

    # The search narrows the filtered rows; the CSV holds what the filters and search match.
    page.get_by_role("searchbox").fill(pending[0][:8])
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["Job"] for row in table] == [pending[0]]
    assert table[0]["Status"] == "Pending"
    assert table[0]["Robot"].startswith("filter-robot-")

    # Period: nothing created before the last hour.
    page.goto(f"{base}/jobs?status=7&period=1h")
    expect(rows).to_have_count(1)


def test_process_edit_version_delete_and_process_delete(admin_page: Page, tenant: Tenant) -> None:
    page, base, api = admin_page, tenant.server.url, tenant.api
    process = make_process(api, f"tidy-{uuid.uuid4().hex[:6]}", script="print(1)\n")
    spare = upload_version(api, process, "spare.py", b"print(2)\n", make_current=False)

    page.goto(f"{base}/processes")
    row = page.locator("#processes tbody tr", has_text="tidy-")
    expect(row).to_have_count(1)
    assert_accessible(page)
    screenshot(page, "processes")
    row.get_by_role("link").click()
    expect(page.locator("#versions tbody tr")).to_have_count(2)

    # The current version offers no delete; the spare one asks first.
    current_row = page.locator("#versions tbody tr.current")
    expect(current_row.get_by_role("button", name="Delete")).to_have_count(0)
    seen = accept_next_dialog(page)
    page.locator(f"#version-{spare['guid']}").get_by_role("button", name="Delete").click()
    expect(page.locator(".flash")).to_contain_text("deleted")
    assert seen and seen[0].startswith("Delete version")
    expect(page.locator("#versions tbody tr")).to_have_count(1)
    assert api.get(f"/api/processVersion/read/{spare['guid']}").status_code == 404

    # Edit.
    renamed = f"renamed-{uuid.uuid4().hex[:6]}"
    page.locator("#f-name").fill(renamed)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=f"Process {renamed}")).to_be_visible()
    assert api.get(f"/api/process/read/{process}").json()["name"] == renamed

    # A file dropped on the drop zone is uploaded like a chosen one.
    dropped = page.evaluate_handle(
        """(bytes) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "dropped.py"));
            return transfer;
        }""",
        list(b"print('dropped')\n"),
    )
    page.locator(".dropzone").dispatch_event("dragover", {"dataTransfer": dropped})
    expect(page.locator(".dropzone")).to_have_class(re.compile(r"\bover\b"))
    page.locator(".dropzone").dispatch_event("drop", {"dataTransfer": dropped})
    expect(page.locator(".dropzone")).not_to_have_class(re.compile(r"\bover\b"))
    assert page.locator("#f-ProcessFile").evaluate("input => input.files[0].name") == "dropped.py"
    page.get_by_label("Version name").fill("dropped")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".flash")).to_contain_text("Version 'dropped' uploaded")
    expect(page.locator("#versions tbody tr.current")).to_contain_text("dropped.py")
    versions = api.get(f"/api/processVersion/list/{process}").json()
    assert [v["process_file_name"] for v in versions if v["is_current"]] == ["dropped.py"]

    # A bad upload is refused with the service's message, nothing stored.
    page.locator("#f-ProcessFile").set_input_files(
        files=[{"name": "empty.zip", "mimeType": "application/zip", "buffer": b""}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".flash-error")).to_contain_text("ProcessFile")
    expect(page.locator("#versions tbody tr")).to_have_count(2)

    # Delete the process.
    seen = accept_next_dialog(page)
    page.locator("#delete-process").click()
    expect(page).to_have_url(re.compile(r"/processes$"))
    expect(page.locator(".flash")).to_contain_text("Process deleted")
    assert api.get(f"/api/process/read/{process}").status_code == 404
    expect(page.locator("#processes tbody")).not_to_contain_text(renamed)
