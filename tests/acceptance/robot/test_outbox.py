"""The outbox keeps a finished job's report until the server has it, across restarts."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from robofleet.robot.client import RobotClient
from robofleet.robot.outbox import FinalReport, Outbox

GUID = "0b7c2a55-3f4e-4a36-9d4c-6c2f3e1a9b10"
REPORT = FinalReport("job-1", 4, progress=100, return_value={"rows": 3}, message="exit code 0")


def client_answering(*statuses: int) -> tuple[RobotClient, list[dict[str, object]]]:
    bodies: list[dict[str, object]] = []
    answers = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        status = answers.pop(0) if len(answers) > 1 else answers[0]
        body = {"code": "invalid_transition", "message": "no"} if status >= 400 else []
        return httpx.Response(status, json=body)

    return RobotClient("http://server", GUID, transport=httpx.MockTransport(handler)), bodies


def test_a_report_survives_a_restart(tmp_path: Path) -> None:
    Outbox(tmp_path / "outbox").put(REPORT)
    after_restart = Outbox(tmp_path / "outbox")
    assert after_restart.pending() == [REPORT]


def test_delivered_reports_leave_the_outbox(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.put(REPORT)
    client, bodies = client_answering(200)
    assert outbox.deliver(client, retry=0)
    assert outbox.pending() == []
    assert bodies == [
        {
            "Guid": "job-1",
            "Status": 4,
            "Progress": 100,
            "ReturnValue": '{"rows": 3}',
            "Message": "exit code 0",
        }
    ]


def test_a_report_the_server_refuses_for_good_is_dropped(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.put(REPORT)
    client, _ = client_answering(409)
    assert outbox.deliver(client, retry=0)
    assert outbox.pending() == []


def test_a_report_stays_while_the_server_is_down_or_says_retry(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.put(REPORT)
    for status in (503, 401):
        client, bodies = client_answering(status)
        assert not outbox.deliver(client, retry=0)
        assert len(bodies) == 1
        assert outbox.pending() == [REPORT]


def test_an_unreadable_entry_is_set_aside(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.put(REPORT)
    (tmp_path / "broken.json").write_text("{half")
    assert outbox.pending() == [REPORT]
    assert (tmp_path / "broken.bad").exists()
