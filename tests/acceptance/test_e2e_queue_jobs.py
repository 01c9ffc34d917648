"""A job works a queue through the SDK: take each task with a lease, finish it by how the
body ends, add follow-up tasks."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot
from tests.support.queues import add, eventually, make_queue, read

WORKER = """
from robofleet import sdk
from robofleet.sdk import BusinessError, queue

done = 0
for task in queue("{queue}").take_each(lease_seconds=30):
    with task:
        amount = task.parameters["amount"]
        if amount < 0:
            raise BusinessError(f"negative amount {{amount}}")
        if amount == 0:
            raise RuntimeError("SAP refused the posting")
        queue("{queue}-done").add(f"receipt-{{task.name}}", {{"amount": amount}})
        done += 1
sdk.set_return_value({{"posted": done}})
"""


def test_a_job_works_a_queue_with_the_sdk(tenant: Tenant, tmp_path: Path) -> None:
    queue = make_queue(tenant.api, AutoChangeStatus=True)
    make_queue(tenant.api, f"{queue}-done")
    guids = {
        name: add(tenant.api, queue, name, Parameters={"amount": amount})["guid"]
        for name, amount in (("good-1", 10), ("negative", -5), ("zero", 0), ("good-2", 7))
    }
    robot = make_robot(tenant.api)
    job = create_job(
        tenant.api, make_process(tenant.api, script=WORKER.format(queue=queue)), Robot=robot
    )["guid"]
    agent = AgentProcess(tenant.server.url, robot, tmp_path / "agent").start()
    try:
        eventually(
            lambda: tenant.api.get(f"/api/job/read/{job}").json()["status"] in {4, 5}, timeout=90
        )
    finally:
        agent.stop()
    done = tenant.api.get(f"/api/job/read/{job}").json()
    assert done["status"] == 4, done
    assert done["return_value"] == {"posted": 2}
    statuses = {name: read(tenant.api, guid) for name, guid in guids.items()}
    assert {name: task["status"] for name, task in statuses.items()} == {
        "good-1": 2,
        "negative": 4,
        "zero": 3,
        "good-2": 2,
    }
    assert statuses["negative"]["error"]["message"] == "negative amount -5"
    assert statuses["negative"]["error"]["type"] == "BusinessError"
    assert statuses["zero"]["error"]["type"] == "RuntimeError"
    assert all(task["job_guid"] == job for task in statuses.values())
    receipts = tenant.api.post(f"/api/task/filter/list/{queue}-done").json()
    assert sorted(t["name"] for t in receipts) == ["receipt-good-1", "receipt-good-2"]
