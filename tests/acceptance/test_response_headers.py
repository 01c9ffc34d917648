"""Answers do not name the server's software (no `server: uvicorn` header: a version banner
only helps whoever scans for a vulnerable one), and still carry the `date` HTTP asks of an
origin server: for the lean front's answers, FastAPI's, and refusals alike."""

from __future__ import annotations

import httpx

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_robot, robot_auth


def _answers(tenant: Tenant) -> list[httpx.Response]:
    guid = make_robot(tenant.api)
    with tenant.client(**robot_auth(guid)) as robot:
        heartbeat = robot.post("/api/robot/heartbeat", json={"RobotGUID": guid, "Status": 2})
    refused = tenant.client(Key="not-a-key").post("/api/robot/heartbeat", json={})
    return [
        heartbeat,  # the lean front
        tenant.api.get("/api/robot/read"),  # FastAPI's router
        tenant.api.get("/healthz"),
        refused,
        tenant.api.get("/no/such/path"),
    ]


def test_no_answer_names_the_server_software(tenant: Tenant) -> None:
    answers = _answers(tenant)
    assert [a.status_code for a in answers] == [200, 200, 200, 401, 404]
    for answer in answers:
        assert "server" not in answer.headers, (answer.request.url, answer.headers)
        assert answer.headers["date"].endswith(" GMT"), answer.headers
