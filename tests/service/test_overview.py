"""The overview's aggregates (services.jobs.overview): robots by status, jobs per day by
status, each queue's backlog and throughput, the latest failures; a tenant sees its own."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import select

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import AccountRow
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.principals import account_key_principal
from robofleet.server.services.fleet.robots import (
    list_robots,
    read_robot,
    robot_summaries,
    robots_by_status,
)
from robofleet.server.services.jobs.overview import fleet_overview
from tests.service.conftest import Tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import add, finish, make_queue, take


def key_caller(tenant: Tenant) -> Caller:
    with tenant.service.runtime.db.read() as session:
        account = session.scalar(select(AccountRow).where(AccountRow.guid == tenant.guid))
        assert account is not None
        return Caller(account_key_principal(session, account.id, str(uuid.uuid4())))


def test_the_overview_counts_a_tenants_robots_jobs_queues_and_failures(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    robot = make_robot(tenant.api, "ov-1")
    make_robot(tenant.api, "ov-2")
    make_robot(other_tenant.api, "elsewhere")
    process = make_process(tenant.api, "ov-process")
    failing = create_job(tenant.api, process, Robot=robot)["guid"]
    create_job(tenant.api, process)
    with tenant.client(**robot_auth(robot)) as agent:
        beat = agent.post("/api/robot/heartbeat", json={"RobotGUID": robot, "Status": 2})
        assert beat.status_code == 200
        taken = agent.post("/api/robot/consumeNextJob", data={"RobotGUID": robot}).json()
        assert json.loads(taken["Job"])["GUID"] == failing
        for status in (8, 5):  # In Progress, then Failed
            moved = agent.put(
                "/api/job/update", json={"Guid": failing, "Status": status, "Message": "boom"}
            )
            assert moved.status_code == 200, moved.text
    queue = make_queue(tenant.api, "ov-queue")
    for name in ("a", "b", "c", "d"):
        add(tenant.api, queue, name)
    done, failed = take(tenant.api, queue, 2)
    assert finish(tenant.api, done).status_code == 200
    assert finish(tenant.api, failed, 3, Error={"Message": "no invoice"}).status_code == 200
    take(tenant.api, queue, 1)

    caller = key_caller(tenant)
    overview = fleet_overview(tenant.service.runtime, caller)

    assert overview.robots is not None
    assert overview.robots["Ready"] == 1 and overview.robots["Disconnected"] == 1
    assert sum(overview.robots.values()) == 2  # the other tenant's robot is not counted
    assert robots_by_status(tenant.service.runtime, caller) == overview.robots
    assert overview.jobs_today is not None and overview.jobs_by_day is not None
    # The job still waiting is Pending; the failed one failed; both were created today.
    assert overview.jobs_today == {"Pending": 1, "Failed": 1}
    assert len(overview.days) == 7
    assert overview.days[-1] == overview.now.strftime("%Y-%m-%d")
    assert overview.jobs_by_day["Failed"] == [0, 0, 0, 0, 0, 0, 1]
    assert overview.queues is not None
    [load] = overview.queues
    assert (load.name, load.new, load.in_progress, load.done_24h) == ("ov-queue", 1, 1, 1)
    assert overview.failed_jobs is not None and overview.failed_tasks is not None
    assert [(f.guid, f.where_name) for f in overview.failed_jobs] == [(failing, "ov-process")]
    [task] = overview.failed_tasks
    assert (task.name, task.where_name, task.status) == ("b", "ov-queue", "Failed (Application)")
    assert task.where_guid == tenant.api.get(f"/api/queue/read/{queue}").json()["guid"]

    # A week on, today's jobs have moved out of the chart; the backlog has not.
    later = fleet_overview(tenant.service.runtime, caller, utcnow() + timedelta(days=7))
    assert later.jobs_today == {} and later.jobs_by_day == {}
    assert later.queues is not None and later.queues[0].new == 1
    assert later.queues[0].done_24h == 0


def test_the_robot_list_reads_as_each_robot_reads(tenant: Tenant) -> None:
    """list_robots reads folders and groups once for all robots: the same rows as one by one."""
    folder = tenant.api.post("/api/accessFolder/create", json={"Name": "Plant"}).json()["guid"]
    groups = [
        tenant.api.post("/api/robotGroup/create", json={"Name": name}).json()["GUID"]
        for name in ("Zeta", "Alpha")
    ]
    make_robot(tenant.api, "plain")
    make_robot(tenant.api, "grouped", Groups=groups, Folder=folder)
    make_robot(tenant.api, "half", Groups=groups[:1])
    caller = key_caller(tenant)
    runtime = tenant.service.runtime
    listed = list_robots(runtime, caller)
    assert [r.name for r in listed] == ["plain", "grouped", "half"]
    assert listed == [read_robot(runtime, caller, r.guid) for r in listed]
    assert listed[1].groups == ["Alpha", "Zeta"] and listed[1].folder_guid == folder
    # The table's lighter read says the same of each.
    summaries = robot_summaries(runtime, caller)
    assert [
        (s.guid, s.name, s.status, s.type, s.active, s.folder_guid, list(s.groups))
        for s in summaries
    ] == [(r.guid, r.name, r.status, r.type, r.active, r.folder_guid, r.groups) for r in listed]
