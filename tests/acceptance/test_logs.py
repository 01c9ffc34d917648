"""The Log tab through a real server on SQLite and PostgreSQL: Sherpa's forms, the agents'
batch, filters, cursor paging, screenshots, purge."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.acceptance.conftest import Tenant
from tests.support.fleet import create_job, make_process, make_robot, robot_auth

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + uuid.uuid4().bytes
EPOCH_SECONDS = int(datetime.now(UTC).timestamp()) // 86400 * 86400 - 86400 + 0.5
AT_EPOCH_SECONDS = datetime.fromtimestamp(EPOCH_SECONDS, UTC).strftime("%Y-%m-%d %H:%M:%S")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def days_ago(days: float) -> str:
    """A time within the servers' log retention (180 days by default)."""
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def messages(lines: list[dict[str, Any]]) -> list[str]:
    return [line["Message"] for line in lines]


def job_setup(tenant: Tenant) -> tuple[str, str, str, dict[str, Any]]:
    robot = make_robot(tenant.api)
    process = make_process(tenant.api)
    version = tenant.api.get(f"/api/process/read/{process}").json()["process_version_guid"]
    job = create_job(tenant.api, process, Robot=robot)
    return robot, process, version, job


def test_a_batch_stores_every_line_in_sherpas_spellings(tenant: Tenant) -> None:
    robot, _, version, job = job_setup(tenant)
    lines = [
        {"JobGUID": job["guid"], "Level": 1, "Message": "numeric info"},
        {"job_guid": job["guid"], "level": "warning", "message": "snake warning"},
        {"JobGuid": job["guid"], "Level": "CRIT", "Message": "alias", "Fields": {"n": 1}},
        {"ProcessVersionGUID": version, "Level": "Debug", "Message": "  stripped  "},
        {"Message": "at a time", "Time": EPOCH_SECONDS},
        {"Message": "fields as text", "Fields": '{"a": [1, 2]}'},
    ]
    with tenant.client(**robot_auth(robot)) as agent:
        stored = agent.post("/api/log/batch", json={"Lines": lines})
        assert stored.status_code == 200, stored.text
        assert stored.json() == {"count": 6}
        bare = agent.post("/api/log/batch", json=[{"Message": "bare list", "Level": "Notice"}])
        assert bare.json() == {"count": 1}
    listed = tenant.api.get("/api/log/list", params={"Robot": robot, "AfterId": 0}).json()
    by_message = {line["Message"]: line for line in listed}
    assert set(by_message) == {
        "numeric info",
        "snake warning",
        "alias",
        "stripped",
        "at a time",
        "fields as text",
        "bare list",
    }
    assert (by_message["numeric info"]["Level"], by_message["numeric info"]["level_name"]) == (
        1,
        "Info",
    )
    assert by_message["snake warning"]["level_name"] == "Warning"
    assert by_message["alias"]["level_name"] == "Critical"
    assert by_message["alias"]["fields"] == {"n": 1}
    assert by_message["alias"]["job_id"] == job["id"]
    assert by_message["stripped"]["process_version_id"] is not None
    assert by_message["at a time"]["created_at"] == AT_EPOCH_SECONDS
    assert by_message["fields as text"]["fields"] == {"a": [1, 2]}
    assert by_message["bare list"]["level_name"] == "Notice"
    # The robot's own lines name it; the job's last message is the batch's last for it.
    assert {line["robot_id"] for line in listed} == {
        tenant.api.get(f"/api/robot/read/{robot}").json()["Id"]
    }
    assert tenant.api.get(f"/api/job/read/{job['guid']}").json()["last_message"] == "alias"


def test_a_batch_with_one_bad_line_stores_none(tenant: Tenant) -> None:
    robot, _, _, job = job_setup(tenant)
    other_robot, _, _, other_job = job_setup(tenant)
    good = {"JobGUID": job["guid"], "Message": "fine"}
    with tenant.client(**robot_auth(robot)) as agent:
        for bad, field in (
            ({"Message": "x\u0000y"}, "Lines[1].Message"),
            ({"Message": "x", "Level": "loud"}, "Lines[1].Level"),
            ({"Message": "x", "Level": True}, "Lines[1].Level"),
            ({"Message": "x", "Time": "yesterday"}, "Lines[1].Time"),
            ({"Level": "Info"}, "Lines[1].Message"),
            ({"Message": "x", "Colour": "red"}, "Lines[1].Colour"),
            ({"Message": "x", "Screenshot": b64(b"not an image")}, "Lines[1].Screenshot"),
        ):
            refused = agent.post("/api/log/batch", json={"Lines": [good, bad]})
            assert refused.status_code == 422, (bad, refused.text)
            assert [d["field"] for d in refused.json()["details"]] == [field], refused.text
        # Another robot's job is unknown to this robot: 404, and nothing is stored.
        foreign = {"JobGUID": other_job["guid"], "Message": "forged"}
        assert agent.post("/api/log/batch", json=[good, foreign]).status_code == 404
        assert agent.post("/api/log/batch", json={"Lines": good}).status_code == 422
        assert agent.post("/api/log/batch", json={"Rows": [good]}).status_code == 422
        assert agent.post("/api/log/batch", content=b"[{").status_code == 400
    assert tenant.api.get("/api/log/list", params={"Job": job["guid"]}).json() == []
    assert other_robot


def test_filters_narrow_the_list(tenant: Tenant) -> None:
    robot, process, version, job = job_setup(tenant)
    other_robot, _, _, other_job = job_setup(tenant)
    tenant.api.post(
        "/api/log/batch",
        json=[
            {"JobGUID": job["guid"], "RobotGUID": robot, "ProcessVersionGUID": version,
             "Level": "Debug", "Message": "d1", "Time": days_ago(4)},
            {"JobGUID": job["guid"], "RobotGUID": robot, "ProcessVersionGUID": version,
             "Level": "Warning", "Message": "Disk 100% FULL", "Time": days_ago(3)},
            {"JobGUID": job["guid"], "RobotGUID": robot, "ProcessVersionGUID": version,
             "Level": "Error", "Message": "e1", "Time": days_ago(2)},
            {"JobGUID": other_job["guid"], "RobotGUID": other_robot, "Level": "Critical",
             "Message": "other disk 1000 full", "Time": days_ago(1)},
        ],
    )  # fmt: skip

    def listed(**params: Any) -> list[str]:
        got = tenant.api.get("/api/log/list", params=params)
        assert got.status_code == 200, got.text
        posted = tenant.api.post("/api/log/list", json=params)
        assert posted.json() == got.json()
        return sorted(messages(got.json()))

    assert listed(Job=job["guid"]) == ["Disk 100% FULL", "d1", "e1"]
    assert listed(Robot=other_robot) == ["other disk 1000 full"]
    assert listed(Process=process) == ["Disk 100% FULL", "d1", "e1"]
    assert listed(MinLevel="Warning") == ["Disk 100% FULL", "e1", "other disk 1000 full"]
    assert listed(MinLevel=3) == ["e1", "other disk 1000 full"]  # 3 is Error
    assert listed(MinLevel="err", Robot=robot) == ["e1"]
    assert listed(Level="Debug") == ["d1"]
    assert listed(Since=days_ago(3.5), Until=days_ago(1.5)) == [
        "Disk 100% FULL",
        "e1",
    ]
    assert listed(Search="disk") == ["Disk 100% FULL", "other disk 1000 full"]
    assert listed(Search="100%") == ["Disk 100% FULL"]  # % is a character, not a wildcard
    refused = tenant.api.get("/api/log/list", params={"MinLevel": "loud"})
    assert refused.status_code == 422 and refused.json()["details"][0]["field"] == "MinLevel"
    missing = tenant.api.get("/api/log/list", params={"Process": str(uuid.uuid4())})
    assert missing.status_code == 404


def test_cursor_pages_show_each_line_once_while_lines_arrive(tenant: Tenant) -> None:
    robot = make_robot(tenant.api)
    before = [{"RobotGUID": robot, "Message": f"old {i}"} for i in range(230)]
    assert tenant.api.post("/api/log/batch", json=before).json() == {"count": 230}
    stop = threading.Event()

    def keep_writing() -> None:
        with tenant.client(Key=tenant.key) as writer:
            n = 0
            while not stop.is_set():
                writer.post("/api/log/batch", json=[{"RobotGUID": robot, "Message": f"new {n}"}])
                n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        seen: list[str] = []
        for newest_first in (True, False):
            seen = []
            params: dict[str, Any] = {"Robot": robot, "Count": 17}
            if not newest_first:
                params["AfterId"] = 0
            while True:
                page = tenant.api.get("/api/log/list", params=params)
                assert page.status_code == 200, page.text
                seen += messages(page.json())
                cursor = page.headers.get("X-Next-Cursor")
                if cursor is None or (not newest_first and "old 229" in seen):
                    break
                params = {"Robot": robot, "Count": 17, "Cursor": cursor}
            old = [m for m in seen if m.startswith("old")]
            assert len(old) == len(set(old)) == 230, newest_first
            assert len(seen) == len(set(seen))
    finally:
        stop.set()
        writer.join()
    bad = tenant.api.get("/api/log/list", params={"Cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "Cursor"


def test_a_screenshot_goes_in_with_a_line_and_comes_back(tenant: Tenant) -> None:
    robot, _, _, job = job_setup(tenant)
    with tenant.client(**robot_auth(robot)) as agent:
        one = agent.post(
            "/api/log/create",
            json={"JobGUID": job["guid"], "Message": "look", "Screenshot": b64(PNG)},
        )
        assert one.status_code == 200, one.text
        batch = agent.post(
            "/api/log/batch",
            json=[
                {"Message": "jpeg", "Screenshot": "data:image/jpeg;base64," + b64(JPEG)},
                {"Message": "plain"},
            ],
        )
        assert batch.status_code == 200, batch.text
        line = agent.get(f"/api/log/read/{one.json()['guid']}").json()
        assert line["screenshot_type"] == "image/png"
        image = agent.get(line["screenshot_url"])
        assert image.status_code == 200
        assert (image.content, image.headers["content-type"]) == (PNG, "image/png")
    listed = {m["Message"]: m for m in tenant.api.get("/api/log/list").json()}
    jpeg = tenant.api.get(listed["jpeg"]["screenshot_url"])
    assert (jpeg.content, jpeg.headers["content-type"]) == (JPEG, "image/jpeg")
    assert listed["plain"]["screenshot_url"] is None
    plain = tenant.api.get(f"/api/log/screenshot/{listed['plain']['guid']}")
    assert plain.status_code == 404
    refused = tenant.api.post(
        "/api/log/create", json={"Message": "x", "Screenshot": b64(b"GIF8 but not quite")}
    )
    assert refused.status_code == 422 and "not an image" in refused.text
    not_base64 = tenant.api.post("/api/log/create", json={"Message": "x", "Screenshot": "@@"})
    assert not_base64.json()["details"][0]["field"] == "Screenshot"


def test_purge_deletes_old_lines_and_screenshots_no_line_shows(tenant: Tenant) -> None:
    shared = PNG + uuid.uuid4().bytes  # an image no other test stores
    own = JPEG + uuid.uuid4().bytes
    tenant.api.post(
        "/api/log/batch",
        json=[
            {"Message": "old shared", "Time": days_ago(10), "Screenshot": b64(shared)},
            {"Message": "old own", "Time": days_ago(10), "Screenshot": b64(own)},
            {"Message": "new shared", "Screenshot": b64(shared)},
        ],
    )
    urls = {m["Message"]: m["screenshot_url"] for m in tenant.api.get("/api/log/list").json()}
    purged = tenant.api.request("DELETE", "/api/log/purge", json={"Time": days_ago(5)})
    assert purged.status_code == 200 and purged.json() == []
    assert messages(tenant.api.get("/api/log/list").json()) == ["new shared"]
    assert tenant.api.get(urls["new shared"]).content == shared
    blobs = tenant.server.data_dir / "blobs"
    assert (
        blobs / hashlib.sha256(shared).hexdigest()[:2] / hashlib.sha256(shared).hexdigest()
    ).exists()
    own_sha = hashlib.sha256(own).hexdigest()
    assert not (blobs / own_sha[:2] / own_sha).exists()


def test_a_robot_reads_only_its_own_lines_in_a_tail_and_a_list(tenant: Tenant) -> None:
    robot, _, _, job = job_setup(tenant)
    other, _, _, other_job = job_setup(tenant)
    tenant.api.post(
        "/api/log/batch",
        json=[
            {"JobGUID": job["guid"], "Message": "mine"},
            {"JobGUID": other_job["guid"], "Message": "theirs"},
        ],
    )
    with tenant.client(**robot_auth(robot)) as agent:
        assert messages(agent.get("/api/log/list").json()) == ["mine"]
        assert agent.get("/api/log/list", params={"Job": other_job["guid"]}).status_code == 404
        tail = agent.get("/api/log/tail", params={"Job": other_job["guid"], "Timeout": 0})
        assert tail.status_code == 404
        events = read_events(agent, {"AfterId": 0, "Timeout": 0})
        assert [e["Message"] for e in events] == ["mine"]
    assert other


def read_events(client: httpx.Client, params: dict[str, Any], **headers: str) -> list[Any]:
    """The log events of a tail that ends by itself (a Timeout)."""
    events = []
    with client.stream("GET", "/api/log/tail", params=params, headers=headers) as stream:
        assert stream.status_code == 200, stream.read()
        assert stream.headers["content-type"].startswith("text/event-stream")
        for block in stream.iter_text():
            for line in block.splitlines():
                if line.startswith("data: "):
                    events.append(json.loads(line.removeprefix("data: ")))
    return events
