"""Helpers of the Robocorp API tests: a Robocorp job taken the way the agent takes it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tests.acceptance.conftest import Tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.server import ServerProcess


def mark_robocorp(server: ServerProcess, process: str) -> None:
    """Make the process's current version a Robocorp robot. Recognising robot.yaml packages
    at upload is the agent half of issue 12 (branch i12-rcagent); this server half only needs
    a version whose Kind is "robocorp", so the test sets it in the server's database."""
    url = server.database_url or f"sqlite:///{server.data_dir / 'robofleet.db'}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "UPDATE process_versions SET kind = 'robocorp' WHERE process_id = "
                    "(SELECT id FROM processes WHERE guid = :guid)"
                ),
                {"guid": process},
            )
    finally:
        engine.dispose()


@dataclass
class TakenJob:
    guid: str
    robot: str
    robocorp: dict[str, str]

    def environment(self, server: ServerProcess) -> dict[str, str]:
        """The RC_* variables a Control Room worker (here: the Robofleet agent) sets."""
        base = f"{server.url}/robocorp"
        token = self.robocorp["Token"]
        return {
            "RC_WORKSPACE_ID": self.robocorp["WorkspaceId"],
            "RC_PROCESS_ID": self.robocorp["ProcessId"],
            "RC_PROCESS_RUN_ID": self.robocorp["ProcessRunId"],
            "RC_ACTIVITY_RUN_ID": self.robocorp["ActivityRunId"],
            "RC_WORKITEM_ID": self.robocorp["WorkItemId"],
            "RC_API_WORKITEM_HOST": base,
            "RC_API_WORKITEM_TOKEN": token,
            "RC_API_PROCESS_HOST": base,
            "RC_API_PROCESS_TOKEN": token,
            "RC_API_SECRET_HOST": base,
            "RC_API_SECRET_TOKEN": token,
            "RC_API_URL_V1": f"{base}/v1",
            "RC_API_TOKEN_V1": token,
        }


def take_robocorp_job(tenant: Tenant, *, task: str | None = None) -> TakenJob:
    """A Robocorp job for a new robot, taken and started by it as the agent does."""
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    mark_robocorp(tenant.server, process)
    fields: dict[str, Any] = {"Robot": robot}
    if task is not None:
        fields["Task"] = task
    job = create_job(tenant.api, process, **fields)
    with tenant.client(**robot_auth(robot)) as client:
        taken = client.post("/api/robot/consumeNextJob", json={"RobotGUID": robot}).json()
        document = json.loads(taken["Job"])
        started = client.put("/api/job/update", json={"Guid": job["guid"], "Status": 8})
        assert started.status_code == 200, started.text
    return TakenJob(str(job["guid"]), robot, document["Robocorp"])


def end_job(tenant: Tenant, job: TakenJob, status: int) -> None:
    with tenant.client(**robot_auth(job.robot)) as client:
        ended = client.put("/api/job/update", json={"Guid": job.guid, "Status": status})
        assert ended.status_code == 200, ended.text
