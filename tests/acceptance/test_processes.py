"""Processes and versions: uploads in every package form, current version, download."""

from __future__ import annotations

import base64
import hashlib

from tests.acceptance.conftest import Tenant
from tests.support.fleet import upload_version, zip_package


def new_process(tenant: Tenant, name: str = "Invoices") -> str:
    response = tenant.api.post("/api/process/create", json={"Name": name, "Description": "d"})
    assert response.status_code == 200, response.text
    return str(response.json()["guid"])


def test_upload_forms_and_kinds(tenant: Tenant) -> None:
    process = new_process(tenant)
    script = upload_version(tenant.api, process, "run.py", b"print(1)\n", make_current=False)
    assert (script["kind"], script["entry_point"], script["is_current"]) == (
        "python",
        "run.py",
        False,
    )
    suite = upload_version(
        tenant.api, process, "checks.robot", b"*** Test Cases ***\nT\n  Log  x\n"
    )
    assert suite["kind"] == "robotframework"
    package = zip_package({"run.sh": "echo hi"}, {"kind": "command", "entry_point": "sh run.sh"})
    command = upload_version(tenant.api, process, "cmd.zip", package)
    assert (command["kind"], command["entry_point"]) == ("command", "sh run.sh")
    inferred = upload_version(
        tenant.api,
        process,
        "app.zip",
        zip_package({"main.py": "print(2)", "requirements.txt": "six"}),
    )
    assert (inferred["kind"], inferred["requirements"]) == ("python", "requirements.txt")
    as_json = tenant.api.post(
        "/api/processVersion/create",
        json={
            "Process": "Invoices",
            "FileName": "b64.py",
            "ProcessFile": base64.b64encode(b"print(3)").decode(),
            "MakeCurrent": 0,
        },
    )
    assert as_json.status_code == 200, as_json.text
    versions = tenant.api.get(f"/api/processVersion/list/{process}").json()
    assert len(versions) == 5
    assert [v["guid"] for v in versions if v["is_current"]] == [inferred["guid"]]


def test_bad_packages_are_refused_and_store_nothing(tenant: Tenant) -> None:
    process = new_process(tenant)
    cases = [
        ("notes.txt", b"hello", "not a package"),
        ("x.zip", zip_package({"a.txt": "x"}), "robofleet.json"),
        ("y.zip", zip_package({"a.py": "x"}, {"kind": "java", "entry_point": "a"}), "kind"),
        (
            "z.zip",
            zip_package({"a.py": "x"}, {"kind": "python", "entry_point": "b.py"}),
            "not in the zip",
        ),
        ("e.py", b"", "empty"),
    ]
    for file_name, content, problem in cases:
        response = tenant.api.post(
            "/api/processVersion/create",
            data={"ProcessGuid": process},
            files={"ProcessFile": (file_name, content, "application/octet-stream")},
        )
        assert response.status_code == 422, (file_name, response.text)
        assert problem in response.json()["message"], (file_name, response.json())
        assert response.json()["details"][0]["field"] == "ProcessFile"
    missing = tenant.api.post("/api/processVersion/create", data={"ProcessGuid": process})
    assert missing.status_code == 422
    assert tenant.api.get(f"/api/processVersion/list/{process}").json() == []


def test_make_current_and_download(tenant: Tenant) -> None:
    process = new_process(tenant)
    first = upload_version(tenant.api, process, "a.py", b"print('a')\n")
    second = upload_version(tenant.api, process, "b.py", b"print('b')\n", make_current=False)
    assert (
        tenant.api.get(f"/api/process/read/{process}").json()["process_version_guid"]
        == first["guid"]
    )
    made = tenant.api.post("/api/processVersion/makeCurrent", json={"Guid": second["guid"]})
    assert made.status_code == 200 and made.json()["is_current"] == 1
    assert (
        tenant.api.get(f"/api/process/read/{process}").json()["process_version_guid"]
        == second["guid"]
    )
    tenant.api.put("/api/process/update", json={"Guid": process, "CurrentVersion": first["guid"]})
    assert (
        tenant.api.get(f"/api/process/read/{process}").json()["process_version_id"] == first["id"]
    )

    download = tenant.api.get(f"/api/processVersion/download/{second['guid']}")
    assert download.status_code == 200
    assert download.content == b"print('b')\n"
    assert download.headers["x-sha256"] == hashlib.sha256(b"print('b')\n").hexdigest()

    refused = tenant.api.delete(f"/api/processVersion/delete/{first['guid']}")
    assert refused.status_code == 409
    assert tenant.api.delete(f"/api/processVersion/delete/{second['guid']}").status_code == 200


def test_versions_of_another_account_cannot_be_downloaded(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    process = new_process(tenant)
    version = upload_version(tenant.api, process, "a.py", b"print('secret')\n")
    assert (
        other_tenant.api.get(f"/api/processVersion/download/{version['guid']}").status_code == 404
    )


def test_job_needs_a_current_version(tenant: Tenant) -> None:
    process = new_process(tenant)
    response = tenant.api.post("/api/job/create", json={"Process": process})
    assert response.status_code == 409
    assert response.json()["code"] == "no_current_version"
