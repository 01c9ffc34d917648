"""Roboteasy's run, result and delete over jobs: a computer is a robot, a robot a process."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import Tenant
from tests.support.agent import AgentProcess
from tests.support.fleet import make_process, make_robot, robot_auth, zip_package
from tests.support.queues import eventually


def bearer(tenant: Tenant) -> dict[str, str]:
    with tenant.client() as anonymous:
        token = anonymous.post(
            "/api/user/auth",
            json={
                "username": tenant.login,
                "password": base64.b64encode(tenant.password.encode()).decode(),
            },
        ).text
    return {"Authorization": token}


def test_run_result_and_delete(tenant: Tenant) -> None:
    computer = make_robot(tenant.api, "PC-01")
    make_process(tenant.api, "Consulta CNPJ")
    with tenant.client(**bearer(tenant)) as integration:
        v1 = integration.post(
            "/api/integration/v1/run/PC-01/Consulta CNPJ",
            json={
                "variables": [
                    {"name": "CNPJ", "type": "text", "value": "12.345"},
                    {"name": "Tries", "type": "number", "value": "3"},
                ]
            },
        )
        assert v1.status_code == 200
        execution = v1.text
        job = tenant.api.get(f"/api/job/read/{execution}").json()
        assert job["parameters"] == {"CNPJ": "12.345", "Tries": 3}
        assert job["robot_guid"] == computer

        result = integration.get(f"/api/integration/v1/result/{computer}/{execution}").json()
        assert set(result) == {"_id", "logs", "init", "end", "returnValue", "status", "progress"}
        assert (result["_id"], result["status"], result["end"]) == (execution, "PENDENT", None)
        assert result["progress"] == 0.0 and isinstance(result["init"], int)

        v2 = integration.post(
            f"/api/integration/v2/run/{computer}/Consulta CNPJ",
            json={"variables": {"name": "CNPJ", "type": "text", "value": "9"}},
        )
        assert set(v2.json()) == {"id"}
        plain = integration.get(f"/api/integration/v1/run/{computer}/Consulta CNPJ")
        assert plain.status_code == 200 and plain.text != execution

        # The robot runs the first execution; its outcome shows in the result.
        with tenant.client(**robot_auth(computer)) as robot:
            robot.post("/api/robot/consumeNextJob", json={"RobotGUID": computer})
            robot.put("/api/job/update", json={"Guid": execution, "Status": 8})
            robot.post("/api/log/create", json={"JobGUID": execution, "Message": "found it"})
            robot.put(
                "/api/job/update",
                json={"Guid": execution, "Status": 4, "ReturnValue": {"name": "ACME"}},
            )
        done = integration.get(f"/api/integration/v1/result/{computer}/{execution}").json()
        assert (done["status"], done["returnValue"], done["progress"]) == (
            "SUCCESS",
            {"name": "ACME"},
            100.0,
        )
        assert [line["message"] for line in done["logs"]] == ["found it"]
        assert done["end"] >= done["init"]

        waiting = v2.json()["id"]
        deleted = integration.delete(f"/api/integration/v1/delete/{computer}/{waiting}")
        assert (deleted.status_code, deleted.content) == (200, b"")
        assert tenant.api.get(f"/api/job/read/{waiting}").status_code == 404


def test_delete_forgets_an_ended_execution_and_stops_a_running_one(tenant: Tenant) -> None:
    computer = make_robot(tenant.api)
    process = make_process(tenant.api)
    with tenant.client(**bearer(tenant)) as integration:

        def run() -> str:
            response = integration.post(f"/api/integration/v1/run/{computer}/{process}")
            assert response.status_code == 200, response.text
            return response.text

        def result(execution: str) -> httpx.Response:
            return integration.get(f"/api/integration/v1/result/{computer}/{execution}")

        def delete(execution: str) -> httpx.Response:
            return integration.delete(f"/api/integration/v1/delete/{computer}/{execution}")

        ended, running = run(), run()
        with tenant.client(**robot_auth(computer)) as robot:
            taken = robot.post("/api/robot/consumeNextJob", json={"RobotGUID": computer})
            assert json.loads(taken.json()["Job"])["GUID"] == ended, taken.text
            robot.put("/api/job/update", json={"Guid": ended, "Status": 8})
            robot.put("/api/job/update", json={"Guid": ended, "Status": 4, "ReturnValue": 1})
            taken = robot.post("/api/robot/consumeNextJob", json={"RobotGUID": computer})
            assert json.loads(taken.json()["Job"])["GUID"] == running, taken.text
            robot.put("/api/job/update", json={"Guid": running, "Status": 8})

        # An ended execution, read and then cleaned up: 200 with nothing in the body.
        assert result(ended).json()["status"] == "SUCCESS"
        gone = delete(ended)
        assert (gone.status_code, gone.content) == (200, b"")
        never = str(uuid.uuid4())
        for answer, unknown in ((result(ended), result(never)), (delete(ended), delete(never))):
            # Word for word what an execution that never was gets.
            assert answer.status_code == unknown.status_code == 404
            like = unknown.json()
            expected = {
                **like,
                "timestamp": answer.json()["timestamp"],
                "message": like["message"].replace(never, ended),
                "path": like["path"].replace(never, ended),
            }
            assert list(answer.json().items()) == list(expected.items())
        # Robofleet's history still has it.
        kept = tenant.api.get(f"/api/job/read/{ended}")
        assert kept.status_code == 200 and kept.json()["status"] == 4
        listed = tenant.api.get("/api/job/list", params={"Process": process}).json()
        assert ended in [job["guid"] for job in listed["items"]]

        # A running execution is asked to stop, and stays readable until it ends.
        stopping = delete(running)
        assert (stopping.status_code, stopping.content) == (200, b"")
        assert tenant.api.get(f"/api/job/read/{running}").json()["status"] == 6
        assert result(running).json()["status"] == "STOPPING"
        assert delete(running).status_code == 200  # asking again changes nothing
        with tenant.client(**robot_auth(computer)) as robot:
            robot.put("/api/job/update", json={"Guid": running, "Status": 7})
        assert result(running).json()["status"] == "STOPPED"
        assert delete(running).status_code == 200
        assert result(running).status_code == 404


def test_unknown_computer_or_robot_is_404(tenant: Tenant) -> None:
    make_process(tenant.api, "P")
    with tenant.client(**bearer(tenant)) as integration:
        assert integration.post("/api/integration/v1/run/nobody/P").status_code == 404


GREETER = """
from robofleet import sdk

name = sdk.parameter("CNPJ", "nobody")
print(f"looking up {name}")
sdk.log("Info", "found the company", step=1)
sdk.set_progress(60)
sdk.set_return_value({"cnpj": name, "company": "ACME"})
"""


@pytest.fixture
def agent(tenant: Tenant, tmp_path: Path) -> Iterator[tuple[str, AgentProcess]]:
    computer = make_robot(tenant.api, f"PC-{uuid.uuid4().hex[:6]}")
    started = AgentProcess(
        tenant.server.url, computer, tmp_path / "agent", cache_dir=tmp_path / "cache"
    ).start()
    yield computer, started
    started.stop()


def test_a_run_started_through_roboteasy_ends_on_a_real_agent(
    tenant: Tenant, agent: tuple[str, AgentProcess]
) -> None:
    computer, _ = agent
    process = make_process(
        tenant.api, content=zip_package({"main.py": GREETER}), file_name="lookup.zip"
    )
    with tenant.client(**bearer(tenant)) as integration:
        started = integration.post(
            f"/api/integration/v2/run/{computer}/{process}",
            json={"variables": [{"name": "CNPJ", "type": "text", "value": "12.345"}]},
        )
        assert started.status_code == 200, started.text
        execution = started.json()["id"]
        path = f"/api/integration/v1/result/{computer}/{execution}"

        def ended() -> bool:
            return integration.get(path).json()["status"] not in {"PENDENT", "RUNNING"}

        eventually(ended, timeout=120)
        result = integration.get(path).json()
    assert list(result) == ["_id", "logs", "init", "end", "returnValue", "status", "progress"]
    assert result["status"] == "SUCCESS", result
    assert result["_id"] == execution
    assert result["returnValue"] == {"cnpj": "12.345", "company": "ACME"}
    assert result["progress"] == 100.0
    assert isinstance(result["end"], int) and result["end"] >= result["init"]
    messages = [line["message"] for line in result["logs"]]
    assert "looking up 12.345" in messages and "found the company" in messages
