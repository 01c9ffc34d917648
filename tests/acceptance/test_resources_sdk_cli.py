"""Resources from a real job script run by a real agent (the SDK), and from the CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot
from tests.support.queues import eventually
from tests.support.resources import create_resource, make_group_with, ok

JOB = """
import hashlib
from datetime import date
from robofleet import sdk

login, password = sdk.get_credential(sdk.parameter("credential"))
counter = sdk.parameter("counter")
sdk.set_text(counter, str(int(sdk.get_text(counter)) + 1))
sdk.set_text(sdk.parameter("fresh"), "made by the robot")
calendar = sdk.get_calendar(sdk.parameter("calendar"))
sdk.set_return_value({
    "login": login,
    "password_sha256": hashlib.sha256(password.encode()).hexdigest(),
    "counter": sdk.get_text(counter),
    "new_year_working": calendar.is_working_day(date(2026, 1, 1)),
    "after_new_year": calendar.next_working_day(date(2025, 12, 31)).isoformat(),
    "third_in_january": calendar.nth_working_day(2026, 1, 3).isoformat(),
})
"""


def test_sdk_in_a_job_run_by_an_agent(tenant: Tenant, tmp_path: Path) -> None:
    api = tenant.api
    robot = make_robot(api)
    group = make_group_with(api, robot)
    suffix = uuid.uuid4().hex[:6]
    names = {k: f"{k}-{suffix}" for k in ("credential", "counter", "calendar", "fresh")}
    password = f"Job-Pa55-{uuid.uuid4().hex}"
    create_resource(api, names["credential"], Type=1, Text="all-robots", Password="wrong")
    create_resource(
        api, names["credential"], Type=1, Text="erp-bot", Password=password, RobotGroupId=group
    )
    counter = create_resource(api, names["counter"], Text="41")
    holidays = {"holidays": ["2026-01-01", "2026-01-02", "2026-01-07"]}
    create_resource(api, names["calendar"], Type=3, Text=json.dumps(holidays))

    process = make_process(api, script=JOB)
    agent = AgentProcess(tenant.server.url, robot, tmp_path / "agent").start()
    try:
        job = str(create_job(api, process, Robot=robot, Parameters=names)["guid"])
        eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] in {3, 4, 5, 7}, 90)
        row = api.get(f"/api/job/read/{job}").json()
        assert row["status"] == 4, agent.output()[-3000:]
    finally:
        agent.stop()
    assert row["return_value"] == {
        "login": "erp-bot",
        "password_sha256": hashlib.sha256(password.encode()).hexdigest(),
        "counter": "42",
        "new_year_working": False,
        "after_new_year": "2026-01-05",
        "third_in_january": "2026-01-08",
    }
    assert ok(api.get(f"/api/asset/read/{counter}"))["text"] == "42"
    fresh = ok(api.get("/api/asset/list", params={"Name": names["fresh"]}))["items"]
    assert [(r["text"], r["robot_type"], r["robot_guid"]) for r in fresh] == [
        ("made by the robot", 1, robot)
    ]


def cli(tenant: Tenant, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robofleet", "resource", *args],
        env={
            "PATH": "/usr/bin:/bin",
            "ROBOFLEET_SERVER": tenant.server.url,
            "ROBOFLEET_API_KEY": tenant.key,
            "COLUMNS": "200",
        },
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_set_get_list(tenant: Tenant, tmp_path: Path) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    password = f"Cli-Pa55-{uuid.uuid4().hex}"
    made = cli(
        tenant,
        "set",
        name,
        "svc-user",
        "--type",
        "credentials",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert made.returncode == 0 and "created credentials resource" in made.stdout, made.stderr
    shown = cli(tenant, "get", name)
    assert shown.returncode == 0 and "login: svc-user" in shown.stdout
    assert "password: ********" in shown.stdout and password not in shown.stdout
    revealed = cli(tenant, "get", name, "--show-password")
    assert f"password: {password}" in revealed.stdout

    # set again at the same scope updates; at another scope creates a second one.
    updated = cli(
        tenant,
        "set",
        name,
        "svc-user-2",
        "--type",
        "credentials",
        "--password-stdin",
        stdin="Second-Pa55\n",
    )
    assert updated.returncode == 0 and "updated" in updated.stdout, updated.stderr
    robot = make_robot(tenant.api)
    calendar = tmp_path / "cal.json"
    calendar.write_text('{"holidays": ["2026-12-25"]}')
    for_robot = cli(
        tenant,
        "set",
        f"{name}-cal",
        "--type",
        "calendar",
        "--file",
        str(calendar),
        "--scope",
        f"robot:{robot}",
    )
    assert for_robot.returncode == 0, for_robot.stderr
    listed = cli(tenant, "list")
    assert listed.returncode == 0 and name in listed.stdout and f"robot:{robot}" in listed.stdout
    assert "Second-Pa55" not in listed.stdout
    only = cli(tenant, "list", "--type", "calendar")
    assert f"{name}-cal" in only.stdout and "Credentials" not in only.stdout
    missing = cli(tenant, "get", f"no-such-{name}")
    assert missing.returncode == 1 and "404" in missing.stderr
    bad_scope = cli(tenant, "set", name, "x", "--scope", "nowhere")
    assert bad_scope.returncode == 2
