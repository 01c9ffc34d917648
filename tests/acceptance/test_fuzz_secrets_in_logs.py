"""No secret a session used reaches a log (issue 8).

A realistic session on a real server, with the most verbose logging, and a real agent: API
keys (the first account's, a tenant's, then its refreshed and assigned keys), passwords
(admin, tenant, a wrong one, a new user's), the token signing secret, login tokens (Sherpa's
login and both Roboteasy logins), and a job that calls the API with a key handed to it as a
parameter, and credential passwords (set, read, changed by a robot, refused). Afterwards
the server's and the agent's whole log output is searched for each.

Robot GUIDs are not searched for: they are identifiers that the API lists, the audit log
records and the agent names in its own log; what makes a robot's call a credential of its own
is the robot secret, which is searched for."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import httpx
import pytest

from robofleet.contract import JobEnv
from tests.acceptance.conftest import BACKENDS, make_tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import create_job, make_process, make_robot, robot_auth
from tests.support.queues import eventually
from tests.support.server import ADMIN_PASSWORD, SECRET_KEY, ServerProcess

JOB = """
import os, urllib.request
from robofleet import sdk

key = sdk.parameter("api_key")
request = urllib.request.Request(os.environ["ROBOFLEET_SERVER"] + "/api/queue/list")
request.add_header("Key", key)
with urllib.request.urlopen(request) as response:
    assert response.status == 200
sdk.log("Info", "listed the queues with the key it was given")
"""

VERBOSE = {"ROBOFLEET_LOG_LEVEL": "debug"}


def ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code == 200, response.text
    return response


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("fresh_server", BACKENDS, indirect=True)
def test_no_secret_of_a_session_reaches_a_log(fresh_server: ServerProcess, tmp_path: Path) -> None:
    server = fresh_server
    server.env.update(VERBOSE)
    server.start()
    tenant = make_tenant(server)
    secrets = {
        "first account's API key": str(server.api_key),
        "admin password": ADMIN_PASSWORD,
        "token signing secret": SECRET_KEY,
        "tenant's API key": tenant.key,
        "tenant's password": tenant.password,
    }
    with server.client(key="") as anonymous:
        wrong = f"wrong-{uuid.uuid4().hex}"
        secrets["a wrong password"] = wrong
        refused = anonymous.post("/api/user/login", json={"Login": tenant.login, "Password": wrong})
        assert refused.status_code == 401
        token = ok(
            anonymous.post(
                "/api/user/login", json={"Login": tenant.login, "Password": tenant.password}
            )
        ).json()["access_token"]
        secrets["login token"] = token
        v1 = ok(
            anonymous.post(
                "/api/user/auth", json={"username": tenant.login, "password": b64(tenant.password)}
            )
        ).text.removeprefix("Bearer ")
        v2 = ok(
            anonymous.post(
                "/api/user/v2/auth",
                json={"username": tenant.login, "password": b64(tenant.password)},
            )
        ).json()["access_token"]
        secrets["Roboteasy v1 token"], secrets["Roboteasy v2 token"] = v1, v2
        for bearer in (token, v1, v2):
            ok(anonymous.get("/api/queue/list", headers={"Authorization": f"Bearer {bearer}"}))

    api = tenant.api
    user_password = f"user-password-{uuid.uuid4().hex}"
    secrets["new user's password"] = user_password
    ok(
        api.post(
            "/api/user/create",
            json={"Login": f"u-{uuid.uuid4().hex[:8]}", "Password": user_password},
        )
    )

    # A robot runs a job that calls the API with a key it is given as a parameter.
    # The robot authenticates with a secret of its own, which the agent hands to the job.
    robot = make_robot(api)
    secrets["robot secret"] = robot_secret = ok(
        api.post("/api/robot/issueSecret", json={"Guid": robot})
    ).json()["Secret"]
    process = make_process(api, script=JOB)
    agent = AgentProcess(
        server.url, robot, tmp_path / "agent", env={**VERBOSE, JobEnv.ROBOT_SECRET: robot_secret}
    ).start()
    try:
        job = create_job(api, process, Robot=robot, Parameters={"api_key": tenant.key})["guid"]
        eventually(lambda: api.get(f"/api/job/read/{job}").json()["status"] in {3, 4, 5, 7}, 90)
        assert api.get(f"/api/job/read/{job}").json()["status"] == 4, agent.output()[-3000:]
        with server.client(key="", **robot_auth(robot)) as as_robot:
            ok(as_robot.post("/api/robot/heartbeat", json={"RobotGUID": robot, "Status": 1}))
    finally:
        agent.stop()

    # Credential passwords: set by a user (JSON and form), read back, changed by the robot
    # with Sherpa's form, and a bad request that carries one.
    credential_password = f"credential-password-{uuid.uuid4().hex}"
    robot_password = f"robot-set-password-{uuid.uuid4().hex}"
    secrets["credential password"] = credential_password
    secrets["credential password set by a robot"] = robot_password
    credential = ok(
        api.post(
            "/api/asset/create",
            json={"Name": "Erp", "Type": 1, "Text": "erp", "Password": credential_password},
        )
    ).json()["guid"]
    ok(api.get(f"/api/asset/read/{credential}"))
    with tenant.client(**robot_auth(robot)) as as_robot:
        assert ok(as_robot.get("/api/asset/read/Erp")).json()["password"] == credential_password
        form = {"guid": credential, "name": "Erp", "text": "erp", "password": robot_password}
        ok(as_robot.put("/api/asset/update", data=form))
    refused_password = f"refused-password-{uuid.uuid4().hex}"
    secrets["password of a refused request"] = refused_password
    refused = api.post(
        "/api/asset/create", json={"Name": "T", "Type": 2, "Password": refused_password}
    )
    assert refused.status_code == 422
    audit = ok(api.get("/api/audit/list")).text
    assert credential_password not in audit and robot_password not in audit

    # The key is refreshed, then replaced by one the caller chooses; each is used.
    refreshed = ok(api.post("/api/apiKey/refresh", json={})).json()["key"]
    secrets["refreshed API key"] = refreshed
    chosen = str(uuid.uuid4())
    with server.client(refreshed) as client:
        ok(client.get("/api/queue/list"))
        secrets["assigned API key"] = ok(
            client.post("/api/apiKey/assign", json={"Key": chosen})
        ).json()["key"]
    with server.client(chosen) as client:
        ok(client.get("/api/queue/list"))
    api.close()
    server.stop()

    logs = {"server": server.output(), "agent": agent.output()}
    assert logs["server"] and logs["agent"]
    leaks = [
        f"{what} in the {source}'s log"
        for what, secret in secrets.items()
        for source, text in logs.items()
        if secret and secret in text
    ]
    assert leaks == []
