"""Issue 9, points 2, 3 and 5: a process made runnable with Sherpa's calls only, versions
updated with their documented parameters, and `MinVersionToRun` as a JSON number."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_robot


def basic(guid: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(guid.encode("utf-8")).decode("utf-8")}


def create_process(tenant: Tenant, **fields: Any) -> str:
    """process/create as Sherpa's page shows it (JSON, PascalCase)."""
    response = tenant.api.post("/api/process/create", json={"Name": "Test Process", **fields})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"guid"}
    return str(response.json()["guid"])


def create_version(tenant: Tenant, process: str, name: str, script: bytes) -> str:
    """processVersion/create with Sherpa's parameters: Name, ProcessGuid and the file
    ProcessFile (multipart), nothing else."""
    response = tenant.api.post(
        "/api/processVersion/create",
        data={"Name": name, "ProcessGuid": process},
        files={"ProcessFile": ("main.py", script, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["guid"])


def current_version(tenant: Tenant, process: str) -> str | None:
    return tenant.api.get(f"/api/process/read/{process}").json()["process_version_guid"]  # type: ignore[no-any-return]


def test_sherpas_process_create_example_with_a_json_number(tenant: Tenant) -> None:
    process = create_process(
        tenant, Description="My Test Process", MinVersionToRun=1.05, ProcessType=0
    )
    row = tenant.api.get(f"/api/process/read/{process}").json()
    assert (row["name"], row["description"], row["min_version_to_run"]) == (
        "Test Process",
        "My Test Process",
        "1.05",
    )
    assert row["process_type"] == 0
    # The same field as text, as the read example shows it, and as a form field.
    assert (
        tenant.api.put(
            "/api/process/update", json={"Guid": process, "MinVersionToRun": "1.14"}
        ).json()
        == []
    )
    assert tenant.api.get(f"/api/process/read/{process}").json()["min_version_to_run"] == "1.14"
    assert (
        tenant.api.put(
            "/api/process/update", data={"guid": process, "min_version_to_run": "2"}
        ).json()
        == []
    )
    assert tenant.api.get(f"/api/process/read/{process}").json()["min_version_to_run"] == "2"
    bad = tenant.api.post("/api/process/create", json={"Name": "x", "MinVersionToRun": True})
    assert bad.status_code == 422 and "MinVersionToRun" in bad.json()["message"]


def test_an_uploaded_version_is_what_runs(tenant: Tenant) -> None:
    process = create_process(tenant, Description="runs what was uploaded")
    first = create_version(tenant, process, "v1", b"print(1)\n")
    assert current_version(tenant, process) == first
    job = tenant.api.post("/api/job/create", json={"Process": process})
    assert job.status_code == 200, job.text
    assert job.json()["process_version_guid"] == first

    second = create_version(tenant, process, "v2", b"print(2)\n")
    assert current_version(tenant, process) == second
    version = tenant.api.get(f"/api/processVersion/read/{second}").json()
    assert version["is_current"] == 1

    # Chosen by hand, a version stays current: later uploads do not replace it.
    made = tenant.api.post("/api/processVersion/makeCurrent", json={"Guid": first})
    assert made.status_code == 200, made.text
    third = create_version(tenant, process, "v3", b"print(3)\n")
    assert current_version(tenant, process) == first
    assert tenant.api.get(f"/api/process/read/{process}").json()["version_pinned"] == 1
    # Unpinned, the next upload runs again.
    assert (
        tenant.api.put("/api/process/update", json={"Guid": process, "VersionPinned": 0}).json()
        == []
    )
    fourth = create_version(tenant, process, "v4", b"print(4)\n")
    assert current_version(tenant, process) == fourth
    assert third != fourth


def test_min_version_to_run_pins_the_first_version(tenant: Tenant) -> None:
    process = create_process(tenant, MinVersionToRun=1.05)
    first = create_version(tenant, process, "v1", b"print(1)\n")
    assert current_version(tenant, process) == first
    create_version(tenant, process, "v2", b"print(2)\n")
    assert current_version(tenant, process) == first


def test_version_update_with_sherpas_parameters(tenant: Tenant) -> None:
    process = create_process(tenant)
    version = create_version(tenant, process, "v1", b"print('old')\n")
    robot = make_robot(tenant.api)
    taken_job = tenant.api.post("/api/job/create", json={"Process": process, "Robot": robot})
    assert taken_job.status_code == 200
    with tenant.client(**basic(robot)) as client:
        consumed = client.post("/api/robot/consumeNextJob", data={"RobotGUID": robot}).json()
    old_sha = json.loads(consumed["ProcessVersion"])["Sha256"]
    assert old_sha == hashlib.sha256(b"print('old')\n").hexdigest()

    # Sherpa's JSON example, then its documented ProcessFile and ProcessGuid (multipart).
    assert (
        tenant.api.post(
            "/api/processVersion/update", json={"Guid": version, "Name": "Test Process Version 1"}
        ).json()
        == []
    )
    updated = tenant.api.post(
        "/api/processVersion/update",
        data={"Guid": version, "ProcessGuid": process, "Description": "new package"},
        files={"ProcessFile": ("main.py", b"print('new')\n", "application/octet-stream")},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json() == []
    row = tenant.api.get(f"/api/processVersion/read/{version}").json()
    new_sha = hashlib.sha256(b"print('new')\n").hexdigest()
    assert (row["name"], row["description"], row["sha256"]) == (
        "Test Process Version 1",
        "new package",
        new_sha,
    )
    download = tenant.api.get(f"/api/processVersion/download/{version}")
    assert download.content == b"print('new')\n"
    # The job taken before the update keeps the package it was given.
    with tenant.client(**basic(robot)) as client:
        kept = client.get(f"/api/processVersion/download/{version}", params={"sha256": old_sha})
    assert kept.status_code == 200 and kept.content == b"print('old')\n"
    assert kept.headers["x-sha256"] == old_sha
    stranger = hashlib.sha256(b"anything else").hexdigest()
    refused = tenant.api.get(f"/api/processVersion/download/{version}", params={"sha256": stranger})
    assert refused.status_code == 404
    # A job created now runs the new package.
    other = make_robot(tenant.api)
    tenant.api.post("/api/job/create", json={"Process": process, "Robot": other})
    with tenant.client(**basic(other)) as client:
        fresh = client.post("/api/robot/consumeNextJob", data={"RobotGUID": other}).json()
    assert json.loads(fresh["ProcessVersion"])["Sha256"] == new_sha


def test_a_version_cannot_move_to_another_process(tenant: Tenant) -> None:
    process = create_process(tenant)
    version = create_version(tenant, process, "v1", b"print(1)\n")
    other = tenant.api.post("/api/process/create", json={"Name": "Other"}).json()["guid"]
    moved = tenant.api.post(
        "/api/processVersion/update", json={"Guid": version, "ProcessGuid": other, "Name": "x"}
    )
    assert moved.status_code == 409, moved.text
    assert moved.json()["code"] == "foreign_process"
    assert tenant.api.get(f"/api/processVersion/read/{version}").json()["name"] == "v1"
