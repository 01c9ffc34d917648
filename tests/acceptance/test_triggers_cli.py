"""`robofleet trigger ...` against a real server on both stores: the README's flow (a cron
trigger and a queue trigger created, previewed, listed), then read, update, disable/enable,
test, history, delete, and a refusal that exits non-zero with the server's message."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_process, make_robot
from tests.support.queues import make_queue
from tests.support.resources import ok


def trigger(tenant: Tenant, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robofleet", "trigger", *args],
        env={
            "PATH": "/usr/bin:/bin",
            "ROBOFLEET_SERVER": tenant.server.url,
            "ROBOFLEET_API_KEY": tenant.key,
            "COLUMNS": "250",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def done(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_trigger_commands(tenant: Tenant) -> None:
    api = tenant.api
    process_name = f"hello-{uuid.uuid4().hex[:6]}"
    make_process(api, process_name)
    robot_name = f"bot-{uuid.uuid4().hex[:6]}"
    make_robot(api, robot_name)
    queue = make_queue(api)
    nightly, arrivals = f"nightly-{uuid.uuid4().hex[:6]}", f"arrivals-{uuid.uuid4().hex[:6]}"

    made = done(
        trigger(tenant, "create", nightly, "--process", process_name, "--robot", robot_name,
                "--cron", "0 2 * * 1-5", "--time-zone", "Europe/Moscow", "--param", "who=night",
                "--max-runs", "100", "--priority", "high", "--stop-after", "1:30")
    )  # fmt: skip
    assert f"created trigger '{nightly}'" in made
    assert "02:00 Europe/Moscow" in made and " 23:00:00 UTC" in made
    preview = done(trigger(tenant, "preview", nightly, "--count", "2")).splitlines()
    assert len(preview) == 2 and all("T02:00:00+03:00" in line for line in preview)

    made = done(
        trigger(tenant, "create", arrivals, "--process", process_name, "--robot", robot_name,
                "--continuous", "--queue", queue, "--min-new-tasks", "0", "--tasks-per-job",
                "10", "--tags", "invoice,eu", "--take-status", "new", "--max-robots", "2")
    )  # fmt: skip
    assert "when its conditions hold" in made
    listed = done(trigger(tenant, "list"))
    assert nightly in listed and arrivals in listed
    assert "cron 0 2 * * 1-5" in listed and "continuous: queue" in listed
    assert f"robot {robot_name}" in listed

    row = json.loads(done(trigger(tenant, "read", arrivals)))
    assert row["queue_condition"]["tasks_per_job"] == 10
    assert (row["queue_condition"]["tags"], row["max_running_robots"]) == (["invoice", "eu"], 2)
    row = ok(api.get(f"/api/schedule/read/{nightly}"))
    assert (row["priority"], row["parameters"], row["stop_after_seconds"]) == (
        3,
        {"who": "night"},
        5400,
    )

    done(trigger(tenant, "update", nightly, "--cron", "30 1 * * *", "--set", "MaxMonthlyRuns=7"))
    row = ok(api.get(f"/api/schedule/read/{nightly}"))
    assert (row["cron_tab"], row["max_monthly_runs"], row["max_runs"]) == ("30 1 * * *", 7, 100)
    assert done(trigger(tenant, "disable", nightly)).strip() == f"disabled trigger {nightly}"
    assert ok(api.get(f"/api/schedule/read/{nightly}"))["status"] == 0
    done(trigger(tenant, "enable", nightly))
    assert ok(api.get(f"/api/schedule/read/{nightly}"))["next_fire_at"] is not None
    tested = done(trigger(tenant, "test", nightly)).strip()
    assert tested.startswith("created job ")
    job = ok(api.get(f"/api/job/read/{tested.removeprefix('created job ')}"))
    assert (job["source"], job["parameters"]) == ("Trigger", {"who": "night"})
    history = done(trigger(tenant, "history", nightly))
    assert "test" in history and "created" in history and job["guid"] in history

    bad = trigger(tenant, "create", "bad", "--process", process_name, "--robot", robot_name,
                  "--cron", "99 * * * *")  # fmt: skip
    assert bad.returncode == 1 and "CronTab" in bad.stderr
    done(trigger(tenant, "delete", arrivals))
    assert api.get(f"/api/schedule/read/{arrivals}").status_code == 404
