"""Many takers in separate processes drain a queue: every task ends Success exactly once,
none is left, none is taken twice. A taker killed mid-task loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.acceptance.conftest import Tenant
from tests.support.queues import eventually, make_queue, read

TASKS = 2000
"""Enough for every taker to claim over a hundred tasks against fifteen others (5,000 took
140 s on PostgreSQL in a loaded CI run and found nothing 2,000 does not)."""
TAKERS = 16
CHUNK = 1000


def start_taker(tenant: Tenant, queue: str, out: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.taker",
            tenant.server.url,
            tenant.key,
            queue,
            str(out),
            *args,
        ],
        cwd=Path(__file__).parents[2],
    )


# Sixteen takers and a server keep both cores busy: under `--dist loadgroup` (scripts/test)
# the two stores' runs share one worker, so they never overlap, and they start first.
@pytest.mark.slow
@pytest.mark.xdist_group("queue-drain")
def test_sixteen_takers_drain_two_thousand_tasks_exactly_once(
    tenant: Tenant, tmp_path: Path
) -> None:
    queue = make_queue(tenant.api)
    for start in range(0, TASKS, CHUNK):
        response = tenant.api.post(
            "/api/task/bulkCreate",
            json={
                "Queue": queue,
                "Tasks": [{"Name": f"t{n}"} for n in range(start, start + CHUNK)],
            },
            timeout=120,
        )
        assert response.json()["created"] == CHUNK
    outputs = [tmp_path / f"taker-{n}.log" for n in range(TAKERS)]
    takers = [start_taker(tenant, queue, out) for out in outputs]
    for taker in takers:
        assert taker.wait(timeout=600) == 0

    lines = [line.split() for out in outputs for line in out.read_text().splitlines()]
    taken = Counter(guid for kind, guid in lines if kind == "taken")
    done = Counter(guid for kind, guid in lines if kind == "done")
    assert not [kind for kind, _ in lines if kind == "refused"]
    assert len(taken) == TASKS and max(taken.values()) == 1  # none taken twice
    assert done == taken  # every taken task finished once
    counts = {q["name"]: q["counts"] for q in tenant.api.get("/api/queue/list").json()}[queue]
    assert counts["Success"] == TASKS
    assert sum(counts.values()) == TASKS  # none left in any other status
    # Most takers got work: the claim spreads it, it does not serialise one taker.
    assert sum(1 for out in outputs if out.read_text()) >= TAKERS // 2


def test_a_killed_taker_loses_nothing(tenant: Tenant, tmp_path: Path) -> None:
    queue = make_queue(tenant.api, RetryApplication=True, MaxRetries=1)
    tenant.api.post("/api/task/bulkCreate", json={"Queue": queue, "Tasks": [{"Name": "only"}]})
    out = tmp_path / "victim.log"
    victim = start_taker(tenant, queue, out, "--hold", "60", "--lease", "5")
    eventually(lambda: out.exists() and "taken" in out.read_text())
    taken_guid = out.read_text().split()[1]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()

    # The lease runs out: the task fails as an application error and is retried.
    eventually(lambda: read(tenant.api, taken_guid)["status"] == 3, timeout=30)
    survivor_out = tmp_path / "survivor.log"
    survivor = start_taker(tenant, queue, survivor_out)
    assert survivor.wait(timeout=120) == 0
    finished = [
        guid
        for kind, guid in (line.split() for line in survivor_out.read_text().splitlines())
        if kind == "done"
    ]
    assert len(finished) == 1
    retry = read(tenant.api, finished[0])
    assert retry["parent_task"] == taken_guid and retry["status"] == 2
    assert read(tenant.api, taken_guid)["error"]["type"] == "LeaseExpired"
