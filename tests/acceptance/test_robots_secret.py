"""Robot secrets: issued with the robot or on demand, shown once, stored hashed; sent as
`Basic base64(<GUID>:<secret>)`. A wrong secret is 401; an account that requires secrets
refuses a robot's bare GUID (401), and by default a bare GUID keeps working (Sherpa robots)."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from robofleet.contract import ROBOT_SECRET_PREFIX, JobEnv, robot_authorization
from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, robot_auth
from tests.support.queues import eventually, make_queue
from tests.support.server import ServerProcess


def new_robot(api: httpx.Client) -> tuple[str, str]:
    created = api.post("/api/robot/create", json={"Name": f"robot-{uuid.uuid4().hex[:6]}"})
    assert created.status_code == 200, created.text
    body = created.json()
    return str(body["GUID"]), str(body["Secret"])


def with_secret(guid: str, secret: str) -> dict[str, str]:
    return {"Authorization": robot_authorization(guid, secret)}


def heartbeat(tenant: Tenant, guid: str, **headers: str) -> httpx.Response:
    with tenant.client(**headers) as robot:
        return robot.post("/api/robot/heartbeat", json={"RobotGUID": guid, "Status": 2})


def require_secret(tenant: Tenant, on: bool) -> None:
    changed = tenant.api.put(
        "/api/account/update", json={"Guid": tenant.guid, "RequireRobotSecret": on}
    )
    assert changed.status_code == 200, changed.text
    assert tenant.api.get(f"/api/account/read/{tenant.guid}").json()["require_robot_secret"] is on


def stored_robot_row(server: ServerProcess, guid: str) -> dict[str, Any]:
    url = server.database_url or f"sqlite:///{server.data_dir / 'robofleet.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT * FROM robots WHERE guid = :guid"), {"guid": guid}
            ).mappings()
            return dict(row.one())
    finally:
        engine.dispose()


def test_the_secret_is_shown_once_and_stored_hashed(tenant: Tenant) -> None:
    guid, secret = new_robot(tenant.api)
    assert secret.startswith(ROBOT_SECRET_PREFIX) and len(secret) >= 40
    digest = hashlib.sha256(secret.encode()).hexdigest()
    reads = [
        tenant.api.get(f"/api/robot/read/{guid}").text,
        tenant.api.get("/api/robot/read").text,
        tenant.api.get("/api/audit/list", params={"ObjectGuid": guid}).text,
    ]
    for shown in reads:
        assert secret not in shown and digest not in shown
    stored = stored_robot_row(tenant.server, guid)
    assert stored["secret_hash"] == digest
    assert not any(secret in str(value) for value in stored.values())
    beat = heartbeat(tenant, guid, **with_secret(guid, secret))
    assert beat.status_code == 200 and beat.json()["HeartbeatErrorCode"] == 0


def test_a_new_secret_replaces_the_old_one(tenant: Tenant, other_tenant: Tenant) -> None:
    guid, old = new_robot(tenant.api)
    issued = tenant.api.post("/api/robot/issueSecret", json={"Guid": guid})
    assert issued.status_code == 200, issued.text
    assert set(issued.json()) == {"GUID", "Secret"} and issued.json()["GUID"] == guid
    new = issued.json()["Secret"]
    assert new.startswith(ROBOT_SECRET_PREFIX) and new != old
    refused = heartbeat(tenant, guid, **with_secret(guid, old))
    assert refused.status_code == 401 and refused.json()["code"] == "wrong_robot_secret"
    assert heartbeat(tenant, guid, **with_secret(guid, new)).status_code == 200
    assert new not in tenant.api.get(f"/api/robot/read/{guid}").text
    unknown = tenant.api.post("/api/robot/issueSecret", json={"Guid": str(uuid.uuid4())})
    assert unknown.status_code == 404
    foreign = other_tenant.api.post("/api/robot/issueSecret", json={"Guid": guid})
    assert foreign.status_code == 404
    assert heartbeat(tenant, guid, **with_secret(guid, new)).status_code == 200


def test_a_wrong_secret_is_401_on_every_call(tenant: Tenant) -> None:
    guid, _ = new_robot(tenant.api)
    queue = make_queue(tenant.api)
    wrong = ROBOT_SECRET_PREFIX + "not-the-secret"
    bearer = base64.b64encode(f"{guid}:{wrong}".encode()).decode()
    for headers in (with_secret(guid, wrong), {"Authorization": f"Bearer {bearer}"}):
        with tenant.client(**headers) as robot:
            for method, path, body in (
                ("POST", "/api/robot/heartbeat", {"RobotGUID": guid}),
                ("POST", "/api/robot/consumeNextJob", {"RobotGUID": guid}),
                ("POST", "/api/robot/waitJob", {"RobotGUID": guid, "Timeout": 1}),
                ("GET", f"/api/robot/read/{guid}", None),
                ("POST", "/api/task/take", {"Queue": queue}),
            ):
                refused = robot.request(method, path, json=body)
                assert refused.status_code == 401, (path, refused.text)
                assert refused.json()["code"] == "wrong_robot_secret"
    assert tenant.api.get(f"/api/robot/read/{guid}").json()["LastHeartbeatAt"] == 0  # never


def test_bare_guid_is_refused_only_where_the_account_requires_a_secret(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    guid, secret = new_robot(tenant.api)
    other, _ = new_robot(other_tenant.api)
    account = tenant.api.get(f"/api/account/read/{tenant.guid}").json()
    assert account["require_robot_secret"] is False  # off by default
    assert heartbeat(tenant, guid, **robot_auth(guid)).status_code == 200

    require_secret(tenant, True)
    bare_bearer = base64.b64encode(guid.encode()).decode()
    for headers in (robot_auth(guid), {"Key": guid}, {"Authorization": f"Bearer {bare_bearer}"}):
        refused = heartbeat(tenant, guid, **headers)
        assert refused.status_code == 401, refused.text  # not Sherpa's in-body 101
        assert refused.json()["code"] == "robot_secret_required"
        assert "secret" in refused.json()["message"]
    assert heartbeat(tenant, guid, **with_secret(guid, secret)).status_code == 200
    # The setting is the account's own: another account's robots are not concerned.
    assert heartbeat(other_tenant, other, **robot_auth(other)).status_code == 200
    # Its robots cannot turn it off, nor may the account change its other fields this way.
    with tenant.client(**with_secret(guid, secret)) as robot:
        denied = robot.put(
            "/api/account/update", json={"Guid": tenant.guid, "RequireRobotSecret": False}
        )
        assert denied.status_code == 403
    company = tenant.api.put("/api/account/update", json={"Guid": tenant.guid, "Company": "X"})
    assert company.status_code == 403 and company.json()["code"] == "not_account_manager"

    require_secret(tenant, False)
    assert heartbeat(tenant, guid, **robot_auth(guid)).status_code == 200


SECRET_JOB = """
from robofleet import sdk
from robofleet.sdk import queue

queue("{queue}").add("made-by-the-job", {{"n": 1}})
names = []
for task in queue("{queue}").take_each(lease_seconds=30):
    with task:
        names.append(task.name)
sdk.log("Info", "worked with a secret")
sdk.set_return_value({{"names": names}})
"""


def test_an_agent_with_a_secret_runs_a_job_end_to_end(tenant: Tenant, tmp_path: Path) -> None:
    guid, secret = new_robot(tenant.api)
    require_secret(tenant, True)  # a bare GUID anywhere in the chain would now fail
    queue = make_queue(tenant.api)
    process = make_process(tenant.api, script=SECRET_JOB.format(queue=queue))
    job = create_job(tenant.api, process, Robot=guid)["guid"]
    agent = AgentProcess(
        tenant.server.url, guid, tmp_path / "agent", env={JobEnv.ROBOT_SECRET: secret}
    ).start()
    try:
        eventually(
            lambda: tenant.api.get(f"/api/job/read/{job}").json()["status"] in {3, 4, 5, 7},
            timeout=120,
        )
    finally:
        agent.stop()
    done = tenant.api.get(f"/api/job/read/{job}").json()
    assert done["status"] == 4, (done, agent.output())
    assert done["return_value"] == {"names": ["made-by-the-job"]}
    lines = tenant.api.get("/api/log/list", params={"Job": job, "Count": 1000}).json()
    assert "worked with a secret" in [line["Message"] for line in lines]
    assert secret not in agent.output()
    assert tenant.server.log_path is not None
    assert secret not in tenant.server.log_path.read_text()


def test_the_agent_takes_its_secret_from_the_command_line(tenant: Tenant, tmp_path: Path) -> None:
    guid, secret = new_robot(tenant.api)
    require_secret(tenant, True)
    command = [
        sys.executable,
        "-m",
        "robofleet",
        "robot",
        "--server",
        tenant.server.url,
        "--robot",
        guid,
        "--work-dir",
        str(tmp_path / "agent"),
        "--heartbeat-interval",
        "0.5",
        "--wait-timeout",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOFLEET_")}
    bad = subprocess.run(
        [*command, "--secret", "rfrs-typo:oops"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert JobEnv.ROBOT_SECRET in bad.stderr and "oops" not in bad.stderr
    with (tmp_path / "agent.log").open("w") as log:
        agent = subprocess.Popen(
            [*command, "--secret", secret], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        eventually(
            lambda: tenant.api.get(f"/api/robot/read/{guid}").json()["LastHeartbeatAt"] is not None,
            timeout=30,
        )
    finally:
        agent.terminate()
        agent.wait(timeout=60)
    assert secret not in (tmp_path / "agent.log").read_text()


@pytest.mark.parametrize("login", ["{guid}", "{guid}:password-1"])
def test_a_user_login_is_never_taken_for_a_robot_secret(tenant: Tenant, login: str) -> None:
    """Only a password starting with the secret's prefix makes `GUID:secret`; anything else
    after a colon is a user's password, as before."""
    guid, _ = new_robot(tenant.api)
    credentials = base64.b64encode(login.format(guid=guid).encode()).decode()
    with tenant.client(Authorization=f"Basic {credentials}") as client:
        answered = client.get(f"/api/robot/read/{guid}")
    if ":" in login:
        assert answered.status_code == 401 and answered.json()["code"] == "invalid_credentials"
    else:
        assert answered.status_code == 200
