"""Each bad input of issue 8 (defect 3, and the bounds of defect 1) gets a 4xx that names the
field and the problem, and changes nothing, on SQLite and PostgreSQL alike: references that
name nothing, integers of 2^63, non-ASCII digits, empty times, out-of-range dates, NUL bytes,
durations beyond reason, NaN and Infinity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import Tenant, make_tenant
from tests.support.fleet import create_job, make_process

NUL = "a\x00b"
PARAMS = {"Name": "p"}
JSON_NUL = '{"k": ["\\u0000"]}'  # JSON text whose value holds a NUL
UPLOAD = {"FileName": "a\x00.py", "ProcessFile": "cHJpbnQoMSkK"}


@dataclass
class Fleet:
    """A few objects of one account, for the bad requests to aim at."""

    process: str
    job: dict[str, Any]
    queue: str
    task: dict[str, Any]


@pytest.fixture
def fleet(tenant: Tenant) -> Fleet:
    api = tenant.api
    process = make_process(api)
    job = create_job(api, process)
    queue = api.post("/api/queue/create", json={"Name": "q"}).json()["guid"]
    task = api.post("/api/task/create", json={"Queue": queue, "Name": "t1"}).json()
    return Fleet(process, job, queue, task)


def state(api: httpx.Client, fleet: Fleet) -> dict[str, Any]:
    """What the bad requests could change: the job, the task, the queues and the logs."""
    return {
        "job": api.get(f"/api/job/read/{fleet.job['guid']}").json(),
        "task": api.get(f"/api/task/read/{fleet.task['guid']}").json(),
        "jobs": api.get("/api/job/list").json()["total"],
        "queues": api.get("/api/queue/list").json(),
        "tasks": api.post(f"/api/task/filter/list/{fleet.queue}", json={}).json(),
        "logs": api.get("/api/log/list").json(),
        "processes": api.get("/api/process/read").json(),
    }


def refused(response: httpx.Response, field: str, *words: str, status: int = 422) -> None:
    """A refusal with `status` that names `field` and says what is wrong (`words`)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert field in [d["field"] for d in body["details"]], body
    for word in words:
        assert word.lower() in body["message"].lower(), body


def test_a_job_is_named_by_its_id_or_guid_only(tenant: Tenant, fleet: Fleet) -> None:
    api = tenant.api
    before = state(api, fleet)
    words = ("a job is named by its id or GUID", "foo")
    refused(api.get("/api/job/read/foo"), "Guid", *words)
    refused(api.put("/api/job/update", json={"Guid": "foo", "Progress": 5}), "Guid", *words)
    for verb in ("stop", "abort", "clone"):
        refused(api.post(f"/api/job/{verb}", json={"Guid": "foo"}), "Guid", *words)
    refused(api.delete("/api/job/delete/foo"), "Guid", *words)
    refused(api.get("/api/log/list", params={"JobGuid": "abc"}), "JobGuid", "id or GUID")
    refused(api.post("/api/log/list", json={"Job": "abc"}), "Job", "id or GUID")
    take = api.post("/api/task/take", json={"Queue": fleet.queue, "Job": "null"})
    refused(take, "Job", "id or GUID", "null")
    assert state(api, fleet) == before  # the task was not taken, the job not touched


def test_empty_references_are_refused(tenant: Tenant, fleet: Fleet) -> None:
    api = tenant.api
    before = state(api, fleet)
    empty = "must not be empty"
    refused(api.post("/api/task/renew", json={}), "body", "Guid and LeaseId")
    renew = api.post("/api/task/renew", json={"Guid": "", "LeaseId": str(uuid.uuid4())})
    refused(renew, "Guid", empty)
    tag = api.put("/api/task/addTag", json={"TaskGuid": "", "TagNames": "x"})
    refused(tag, "TaskGuid", empty)
    refused(api.get("/api/log/list?JobGuid="), "JobGuid", empty)
    refused(api.put("/api/account/update", json={"Guid": "", "Company": "x"}), "Guid", empty)
    assert state(api, fleet) == before


def test_an_empty_folder_still_means_the_root(tenant: Tenant) -> None:
    """The one reference where empty has a meaning: no access folder."""
    response = tenant.api.post("/api/queue/create", json={"Name": "rooted", "Folder": ""})
    assert response.status_code == 200, response.text
    queue = tenant.api.get(f"/api/queue/read/{response.json()['guid']}").json()
    assert queue["folder_id"] is None


def test_integers_of_2_63_and_more_are_refused(tenant: Tenant, fleet: Fleet) -> None:
    api = tenant.api
    before = state(api, fleet)
    too_big = str(2**63)
    refused(api.get("/api/job/list", params={"Offset": too_big}), "Offset", "less than or equal")
    refused(api.get("/api/log/list", params={"AfterId": too_big}), "AfterId")
    refused(api.get(f"/api/job/read/{too_big}"), "Guid", "ids are whole numbers up to")
    refused(api.post("/api/job/stop", json={"Guid": 2**64}), "Guid", "not an id")
    refused(api.get(f"/api/task/read/{2**70}"), "Guid", "not an id")
    params = {"Queue": fleet.queue, "Name": "big", "Parameters": {"n": 2**63}}
    refused(api.post("/api/task/create", json=params), "Parameters", "whole number", "at n")
    # The largest 64-bit id is a well-formed reference: it names nothing (404).
    assert api.get(f"/api/job/read/{2**63 - 1}").status_code == 404
    assert state(api, fleet) == before


def test_only_ascii_digits_are_ids_and_a_boolean_is_no_reference(
    tenant: Tenant, fleet: Fleet
) -> None:
    api = tenant.api
    first_task_id = fleet.task["id"]
    assert api.get(f"/api/task/read/{first_task_id}").status_code == 200
    # Superscript two and Arabic-Indic one are names (naming nothing here), not numbers.
    for digits in ("\u00b2", "\u0661", chr(0x0660 + first_task_id % 10)):
        response = api.get(f"/api/task/read/{digits}")
        assert response.status_code == 404, response.text
    queue_id = api.get(f"/api/queue/read/{fleet.queue}").json()["id"]
    arabic = "".join(chr(0x0660 + int(d)) for d in str(queue_id))
    response = api.post("/api/task/create", json={"Queue": arabic, "Name": "arabic"})
    assert response.status_code == 404, response.text
    refused(
        api.post("/api/task/create", json={"Queue": True, "Name": "bool"}),
        "Queue",
        "not a boolean",
    )
    names = [t["name"] for t in api.post(f"/api/task/filter/list/{fleet.queue}", json={}).json()]
    assert names == ["t1"]


def test_purge_needs_a_time(tenant: Tenant) -> None:
    api = tenant.api
    assert api.post("/api/log/create", json={"Message": "kept"}).status_code == 200
    refused(api.request("DELETE", "/api/log/purge", json={"Time": ""}), "Time", "is required")
    refused(api.request("DELETE", "/api/log/purge", json={"Time": None}), "Time", "is required")
    assert [line["Message"] for line in api.get("/api/log/list").json()] == ["kept"]


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-14:00",  # the year 10000 in UTC
        "9999-12-31T00:00:00Z",  # the sort key of "no deadline"
        "0001-01-01T00:00:00+14:00",  # before the year 1 in UTC
        "1800-01-01T00:00:00Z",
        1e20,
        "100000000000000000000",
        -1e20,
    ],
)
def test_times_out_of_range_are_refused(tenant: Tenant, fleet: Fleet, when: object) -> None:
    api = tenant.api
    before = state(api, fleet)
    fields = {"Queue": fleet.queue, "Name": "late", "Deadline": when}
    refused(api.post("/api/task/create", json=fields), "Deadline", "out of range")
    update = {"Guid": fleet.task["guid"], "PostponedUntil": when}
    refused(api.put("/api/task/update", json=update), "PostponedUntil", "out of range")
    job = {"Guid": fleet.job["guid"], "StopAfter": when}
    refused(api.put("/api/job/update", json=job), "StopAfter", "out of range")
    refused(api.get("/api/job/list", params={"Since": str(when)}), "Since")
    assert state(api, fleet) == before


def test_times_in_range_keep_working(tenant: Tenant, fleet: Fleet) -> None:
    api = tenant.api
    for when, shown in [
        ("9999-12-30T23:59:59Z", "9999-12-30 23:59:59"),
        ("2030-06-01T12:00:00+02:00", "2030-06-01 10:00:00"),
        (1900000000, "2030-03-17 17:46:40"),
        ("01.02.2030 10:00", "2030-02-01 10:00:00"),
    ]:
        name = f"ok-{uuid.uuid4().hex[:6]}"
        fields = {"Queue": fleet.queue, "Name": name, "Deadline": when}
        response = api.post("/api/task/create", json=fields)
        assert response.status_code == 200, response.text
        assert response.json()["deadline"] == shown


@pytest.mark.parametrize(
    ("method", "path", "fields", "field"),
    [
        ("POST", "/api/queue/create", {"Name": NUL}, "Name"),
        ("POST", "/api/process/create", {"Name": NUL}, "Name"),
        ("POST", "/api/robot/create", {"Name": NUL}, "Name"),
        ("POST", "/api/task/create", {"Queue": "{queue}", "Name": NUL}, "Name"),
        (
            "POST",
            "/api/task/create",
            {"Queue": "{queue}", **PARAMS, "Parameters": {"k": NUL}},
            "Parameters",
        ),
        (
            "POST",
            "/api/task/create",
            {"Queue": "{queue}", **PARAMS, "Parameters": {NUL: 1}},
            "Parameters",
        ),
        (
            "POST",
            "/api/task/create",
            {"Queue": "{queue}", **PARAMS, "Parameters": JSON_NUL},
            "Parameters",
        ),
        ("POST", "/api/task/create", {"Queue": NUL, "Name": "p"}, "Queue"),
        ("PUT", "/api/task/addTag", {"TaskGuid": "{task}", "TagNames": NUL}, "TagNames"),
        ("POST", "/api/log/create", {"Message": NUL}, "Message"),
        (
            "POST",
            "/api/log/create",
            {"Lines": [{"Message": "ok"}, {"Message": NUL}]},
            "Lines[1].Message",
        ),
        (
            "POST",
            "/api/job/create",
            {"Process": "{process}", "Parameters": {"k": NUL}},
            "Parameters",
        ),
        ("POST", "/api/job/stop", {"Guid": NUL}, "Guid"),
        ("POST", "/api/processVersion/create", {"ProcessGuid": "{process}", **UPLOAD}, "FileName"),
        ("POST", "/api/user/login", {"Login": NUL, "Password": "whatever"}, "Login"),
    ],
)
def test_nul_bytes_are_refused_on_both_stores(
    tenant: Tenant, fleet: Fleet, method: str, path: str, fields: dict[str, Any], field: str
) -> None:
    """SQLite could store them and PostgreSQL cannot: both refuse them, naming the field."""
    api = tenant.api
    before = state(api, fleet)
    ids = {"{queue}": fleet.queue, "{task}": fleet.task["guid"], "{process}": fleet.process}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    refused(api.request(method, path, json=body), field, "NUL byte")
    assert state(api, fleet) == before


def test_nul_bytes_in_paths_and_queries_are_refused(tenant: Tenant, fleet: Fleet) -> None:
    api = tenant.api
    refused(api.get("/api/task/read/a%00b"), "Task", "NUL byte")
    refused(api.get("/api/log/read/a%00b"), "Guid", "NUL byte")
    refused(api.get("/api/job/list", params={"Source": NUL}), "Source", "NUL byte")
    refused(api.get("/api/audit/list", params={"Actor": NUL}), "Actor", "NUL byte")
    refused(api.post(f"/api/task/filter/list/{fleet.queue}/name=a%00b"), "Filters", "NUL byte")


def test_a_robot_protocol_nul_is_refused_too(tenant: Tenant) -> None:
    response = tenant.api.post("/api/robot/heartbeat", json={"JobGUID": NUL})
    refused(response, "JobGuid", "NUL byte")


# --- durations, counts and non-finite numbers (defect 1) ---------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("AbandonNewMinutes", 1e9, "less than or equal to 5270400"),
        ("AbandonNewMinutes", "Infinity", "finite"),
        ("AbandonNewMinutes", "-Infinity", "finite"),
        ("AbandonNewMinutes", "NaN", "finite"),
        ("AbandonInProgressMinutes", 5270401, "less than or equal"),
        ("AbandonInProgressMinutes", "inf", "finite"),
        ("MaxRetries", 101, "less than or equal"),
        ("RetryDelaySeconds", 2**63, "less than or equal"),
        ("LeaseSeconds", 86401, "less than or equal"),
    ],
)
def test_queue_durations_and_counts_are_bounded(
    tenant: Tenant, field: str, value: object, words: str
) -> None:
    api = tenant.api
    before = api.get("/api/queue/list").json()
    refused(api.post("/api/queue/create", json={"Name": "poison", field: value}), field, words)
    assert api.get("/api/queue/list").json() == before


def test_the_longest_durations_are_kept(tenant: Tenant) -> None:
    ten_years = 10 * 366 * 24 * 60
    response = tenant.api.post(
        "/api/queue/create",
        json={"Name": "patient", "AbandonNewMinutes": ten_years, "AbandonInProgressMinutes": 0.5},
    )
    assert response.status_code == 200, response.text
    queue = tenant.api.get(f"/api/queue/read/{response.json()['guid']}").json()
    assert queue["abandon_new_minutes"] == ten_years
    assert queue["abandon_in_progress_minutes"] == 0.5


def test_a_poison_update_is_refused_and_changes_nothing(tenant: Tenant) -> None:
    api = tenant.api
    guid = api.post("/api/queue/create", json={"Name": "q", "AbandonNewMinutes": 60}).json()["guid"]
    update = {"Guid": guid, "AbandonNewMinutes": "Infinity", "Description": "changed"}
    refused(api.put("/api/queue/update", json=update), "AbandonNewMinutes", "finite")
    queue = api.get(f"/api/queue/read/{guid}").json()
    assert (queue["abandon_new_minutes"], queue["description"]) == (60, "")


def test_nan_and_infinity_in_json_values_are_refused(tenant: Tenant, fleet: Fleet) -> None:
    """Python's JSON reader takes the NaN and Infinity literals; no store should get them."""
    api = tenant.api
    before = state(api, fleet)
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        body = b'{"Queue": "%s", "Name": "n", "Parameters": {"x": [%s]}}' % (
            fleet.queue.encode(),
            literal,
        )
        response = api.post(
            "/api/task/create", content=body, headers={"content-type": "application/json"}
        )
        refused(response, "Parameters", "finite", "at x[0]")
        wait = b'{"Timeout": %s}' % literal
        response = api.post(
            "/api/robot/waitJob", content=wait, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
    assert state(api, fleet) == before


def test_a_form_encoded_request_obeys_the_same_rules(tenant: Tenant, fleet: Fleet) -> None:
    api = tenant.api
    response = api.post("/api/queue/create", data={"Name": "form", "AbandonNewMinutes": "inf"})
    refused(response, "AbandonNewMinutes", "finite")
    response = api.put("/api/task/addTag", data={"TaskGuid": "", "TagNames": "a"})
    refused(response, "TaskGuid", "must not be empty")


def test_another_account_cannot_be_reached_by_a_bad_reference(tenant: Tenant) -> None:
    """A refusal is the same whoever owns what: no object of another account is named."""
    other = make_tenant(tenant.server)
    try:
        queue = other.api.post("/api/queue/create", json={"Name": "theirs"}).json()
        queue_id = other.api.get(f"/api/queue/read/{queue['guid']}").json()["id"]
        arabic = "".join(chr(0x0660 + int(d)) for d in str(queue_id))
        for ref in (queue_id, str(queue_id), arabic, queue["guid"].upper()):
            response = tenant.api.get(f"/api/queue/read/{ref}")
            assert response.status_code == 404, response.text
    finally:
        other.api.close()
