"""Roboteasy's run, result and delete over jobs: a computer is a robot, a robot a process."""

from __future__ import annotations

import base64

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_process, make_robot, robot_auth


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

        started = integration.delete(f"/api/integration/v1/delete/{computer}/{execution}")
        assert started.status_code == 409
        waiting = v2.json()["id"]
        deleted = integration.delete(f"/api/integration/v1/delete/{computer}/{waiting}")
        assert deleted.status_code == 200
        assert tenant.api.get(f"/api/job/read/{waiting}").status_code == 404


def test_run_without_login_is_401_in_springs_shape(tenant: Tenant) -> None:
    with tenant.client() as anonymous:
        response = anonymous.post("/api/integration/v1/run/a/b", json={"variables": []})
    assert response.status_code == 401
    assert {"timestamp", "status", "error", "message", "path"} <= set(response.json())


def test_unknown_computer_or_robot_is_404(tenant: Tenant) -> None:
    make_process(tenant.api, "P")
    with tenant.client(**bearer(tenant)) as integration:
        assert integration.post("/api/integration/v1/run/nobody/P").status_code == 404
