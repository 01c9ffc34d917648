"""Log shipping: batches, order, failures and recovery, the bounded buffer, flush."""

from __future__ import annotations

import json
import threading

import httpx

from robofleet.robot.client import RobotClient
from robofleet.robot.logship import LogLine, LogShipper

GUID = "0b7c2a55-3f4e-4a36-9d4c-6c2f3e1a9b10"


class LogServer:
    """Answers /api/log/batch with the statuses it is given, then 200."""

    def __init__(self, *failures: int) -> None:
        self.failures = list(failures)
        self.batches: list[list[dict[str, object]]] = []
        self.waits: list[int] = []
        self.lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        lines = json.loads(request.content)["Lines"]
        with self.lock:
            if self.failures:
                status = self.failures.pop(0)
                if status == 0:
                    raise httpx.ConnectError("connection refused")
                headers = {"Retry-After": "0"} if status == 429 else {}
                self.waits.append(status)
                return httpx.Response(status, json={"code": "x", "message": "no"}, headers=headers)
            self.batches.append(lines)
        return httpx.Response(200, json={"count": len(lines)})

    def messages(self) -> list[object]:
        return [line["Message"] for batch in self.batches for line in batch]

    def shipper(self, **options: object) -> LogShipper:
        client = RobotClient("http://server", GUID, transport=httpx.MockTransport(self.handler))
        return LogShipper(client, flush_interval=0.05, **options)  # type: ignore[arg-type]


def test_lines_go_in_order_in_batches_of_at_most_1000() -> None:
    server = LogServer()
    shipper = server.shipper()
    for i in range(2500):
        shipper.add(LogLine("Info", f"line {i}"), job_guid="job-1", process_version_guid="v-1")
    shipper.start()
    assert shipper.flush(timeout=10)
    assert [len(batch) for batch in server.batches] == [1000, 1000, 500]
    assert server.messages() == [f"line {i}" for i in range(2500)]
    first = server.batches[0][0]
    assert (first["JobGUID"], first["ProcessVersionGUID"], first["Level"]) == (
        "job-1",
        "v-1",
        "Info",
    )
    shipper.close()


def test_lines_survive_network_failures_and_5xx() -> None:
    server = LogServer(0, 503, 0)
    shipper = server.shipper()
    shipper.start()
    for i in range(5):
        shipper.add(LogLine("warn", f"line {i}"))
    assert shipper.flush(timeout=20)
    assert server.messages() == [f"line {i}" for i in range(5)]
    assert {line["Level"] for batch in server.batches for line in batch} == {"Warning"}
    shipper.close()


def test_a_full_buffer_drops_the_oldest_lines() -> None:
    server = LogServer()
    shipper = server.shipper(max_lines=10)
    for i in range(25):
        shipper.add(LogLine("Info", f"line {i}"))
    assert shipper.pending == 10
    shipper.start()
    assert shipper.flush(timeout=10)
    assert server.messages() == [f"line {i}" for i in range(15, 25)]
    shipper.close()


def test_lines_the_server_refuses_for_good_do_not_block_the_rest() -> None:
    server = LogServer(422)
    shipper = server.shipper()
    shipper.add(LogLine("Info", "refused"))
    shipper.start()
    assert shipper.flush(timeout=10)
    shipper.add(LogLine("Info", "accepted"))
    assert shipper.flush(timeout=10)
    assert server.messages() == ["accepted"]
    shipper.close()


def test_flush_gives_up_when_cancelled_while_the_server_is_down() -> None:
    server = LogServer(*([503] * 100))
    shipper = server.shipper()
    shipper.start()
    shipper.add(LogLine("Info", "stuck"))
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    assert not shipper.flush(cancel=cancel)
    assert shipper.pending == 1
    shipper.close(timeout=0.1)


def test_a_rate_limited_batch_is_kept_and_sent_again_whole() -> None:
    """429 means nothing was stored: the same lines go again, after Retry-After, in order,
    and none is lost or sent twice."""
    server = LogServer(*([429] * 5))
    shipper = server.shipper()
    for i in range(1500):
        shipper.add(LogLine("Info", f"line {i}"))
    shipper.start()
    assert shipper.flush(timeout=20)
    assert server.waits == [429] * 5
    assert server.messages() == [f"line {i}" for i in range(1500)]
    shipper.close()
