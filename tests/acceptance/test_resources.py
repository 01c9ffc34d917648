"""The Resource tab over HTTP on both stores: every operation with Sherpa's request forms
(JSON and form bodies, PascalCase and snake_case, related objects by id, GUID or name, robot
Basic auth), resource groups, lists, calendars as JSON and iCalendar, password masking."""

from __future__ import annotations

import json
import uuid

from tests.acceptance.conftest import Tenant
from tests.support.fleet import make_robot, robot_auth
from tests.support.resources import create_resource, make_group_with, ok


def _name() -> str:
    return f"res-{uuid.uuid4().hex[:8]}"


def test_create_read_update_delete_in_json_and_form(tenant: Tenant) -> None:
    api = tenant.api
    group = ok(api.post("/api/assetGroup/create", data={"name": _name()}))["guid"]
    name = _name()
    created = ok(
        api.post(
            "/api/asset/create",
            json={
                "Name": name,
                "Description": "ERP login",
                "Type": 1,
                "Text": "erp-user",
                "Password": "Erp-Pa55!",
                "PasswordExpiration": "2030-01-31 12:00:00",
                "ResourceGroup": group,
            },
        )
    )
    assert set(created) == {"guid"}
    row = ok(api.get(f"/api/asset/read/{created['guid']}"))
    assert (row["name"], row["type"], row["type_name"]) == (name, 1, "Credentials")
    assert (row["text"], row["password"]) == ("erp-user", "Erp-Pa55!")
    assert row["password_expiration"] == "2030-01-31 12:00:00"
    assert (row["robot_type"], row["resource_group_guid"], row["is_deleted"]) == (3, group, 0)
    assert ok(api.get(f"/api/asset/read/{row['id']}"))["guid"] == row["guid"]
    assert ok(api.get(f"/api/asset/read/{name}"))["guid"] == row["guid"]

    # Sherpa's form, snake_case keys; an empty password keeps the stored one.
    assert (
        ok(
            api.put(
                "/api/asset/update",
                data={"guid": row["guid"], "name": name, "text": "erp-user-2", "password": ""},
            )
        )
        == []
    )
    updated = ok(api.get(f"/api/asset/read/{row['guid']}"))
    assert (updated["text"], updated["password"]) == ("erp-user-2", "Erp-Pa55!")
    ok(api.put("/api/asset/update", json={"Guid": row["id"], "Password": "New-Pa55!"}))
    assert ok(api.get(f"/api/asset/read/{name}"))["password"] == "New-Pa55!"

    assert ok(api.delete(f"/api/asset/delete/{row['guid']}")) == []
    assert api.get(f"/api/asset/read/{row['guid']}").status_code == 404
    again = create_resource(api, name)  # a deleted name is free again
    assert again != row["guid"]


def test_text_resource_by_form_with_snake_case_keys(tenant: Tenant) -> None:
    name = _name()
    guid = ok(
        tenant.api.post(
            "/api/asset/create", data={"name": name, "type": "2", "text": "42", "robot_type": "3"}
        )
    )["guid"]
    row = ok(tenant.api.get(f"/api/asset/read/{guid}"))
    assert (row["text"], row["password"], row["type_name"]) == ("42", None, "Text")


def test_the_sherpa_framework_reads_and_updates_as_the_robot(tenant: Tenant) -> None:
    """PUT /api/asset/update with the form `guid, name, text, password` and
    `Authorization: Basic base64(robot GUID)`, as the Python framework sends it."""
    api = tenant.api
    robot = make_robot(api)
    name = _name()
    text_guid = create_resource(api, name, Text="counter=1")
    credential = create_resource(
        api, _name(), Type=1, Text="svc", Password="Robot-Pa55", RobotId=robot
    )
    with tenant.client(**robot_auth(robot)) as as_robot:
        assert ok(as_robot.get(f"/api/asset/read/{text_guid}"))["text"] == "counter=1"
        read = ok(as_robot.get(f"/api/asset/read/{credential}"))
        assert (read["text"], read["password"]) == ("svc", "Robot-Pa55")
        form = {"guid": text_guid, "name": name, "text": "counter=2", "password": ""}
        assert ok(as_robot.put("/api/asset/update", data=form)) == []
        assert ok(as_robot.get(f"/api/asset/read/{name}"))["text"] == "counter=2"
        form = {"guid": credential, "name": read["name"], "text": "svc", "password": "Rotated-1"}
        assert ok(as_robot.put("/api/asset/update", data=form)) == []
    assert ok(api.get(f"/api/asset/read/{credential}"))["password"] == "Rotated-1"


def test_scope_objects_by_id_guid_or_name(tenant: Tenant) -> None:
    api = tenant.api
    robot_name = f"bot-{uuid.uuid4().hex[:6]}"
    robot = make_robot(api, robot_name)
    robot_id = ok(api.get(f"/api/robot/read/{robot}"))["Id"]
    group = make_group_with(api, robot)
    group_name = ok(api.get(f"/api/robotGroup/read/{group}"))["name"]
    for ref in (robot, robot_id, robot_name):
        guid = create_resource(api, _name(), RobotType=1, RobotId=ref)
        assert ok(api.get(f"/api/asset/read/{guid}"))["robot_guid"] == robot
    for ref in (group, group_name):
        guid = create_resource(api, _name(), robot_group_id=ref)  # RobotType 2 inferred
        row = ok(api.get(f"/api/asset/read/{guid}"))
        assert (row["robot_type"], row["robot_group_guid"]) == (2, group)
    missing = api.post("/api/asset/create", json={"Name": _name(), "RobotType": 2})
    assert missing.status_code == 422 and missing.json()["details"][0]["field"] == "RobotGroupId"
    unknown = api.post("/api/asset/create", json={"Name": _name(), "RobotId": str(uuid.uuid4())})
    assert unknown.status_code == 404


def test_one_name_once_per_scope(tenant: Tenant) -> None:
    api = tenant.api
    robot = make_robot(api)
    name = _name()
    create_resource(api, name)
    create_resource(api, name, RobotId=robot)
    for fields in ({}, {"RobotId": robot}):
        again = api.post("/api/asset/create", json={"Name": name, **fields})
        assert again.status_code == 409 and again.json()["code"] == "name_taken"


def test_list_filters_and_pages_and_masks_passwords(tenant: Tenant) -> None:
    api = tenant.api
    group = ok(api.post("/api/assetGroup/create", json={"Name": _name()}))["guid"]
    robot = make_robot(api)
    prefix = _name()
    for number in range(5):
        create_resource(
            api, f"{prefix}-{number}", Type=1, Password=f"pw-{number}", ResourceGroup=group
        )
    create_resource(api, f"{prefix}-text", RobotId=robot)
    page = ok(api.get("/api/asset/list", params={"ResourceGroup": group, "Count": 2}))
    assert (page["total"], page["count"], len(page["items"])) == (5, 2, 2)
    assert {row["password"] for row in page["items"]} == {"********"}
    rest = ok(api.post("/api/asset/list", json={"ResourceGroup": group, "Offset": 2}))
    assert rest["count"] == 3
    assert ok(api.get("/api/asset/list", params={"Type": 1}))["total"] == 5
    mine = ok(api.post("/api/asset/list", data={"robot": robot, "robot_type": "1"}))
    assert [row["name"] for row in mine["items"]] == [f"{prefix}-text"]


def test_resource_groups(tenant: Tenant) -> None:
    api = tenant.api
    name = _name()
    guid = ok(api.post("/api/assetGroup/create", json={"Name": name, "Description": "d"}))["guid"]
    assert ok(api.get(f"/api/assetGroup/read/{name}"))["guid"] == guid
    assert ok(api.put("/api/assetGroup/update", data={"guid": guid, "name": name + "-x"})) == []
    assert [g["name"] for g in ok(api.get("/api/assetGroup/list"))] == [name + "-x"]
    held = create_resource(api, _name(), ResourceGroup=name + "-x")
    busy = api.delete(f"/api/assetGroup/delete/{guid}")
    assert busy.status_code == 409 and busy.json()["code"] == "group_not_empty"
    ok(api.delete(f"/api/asset/delete/{held}"))
    assert ok(api.delete(f"/api/assetGroup/delete/{guid}")) == []
    assert api.get(f"/api/assetGroup/read/{guid}").status_code == 404


def test_password_masked_for_a_user_without_the_update_right(tenant: Tenant) -> None:
    api = tenant.api
    guid = create_resource(api, _name(), Type=1, Text="login", Password="Hidden-Pa55")
    role = ok(
        api.post("/api/role/create", json={"Name": _name(), "Permissions": {"resource": "r"}})
    )["guid"]
    login, password = f"u-{uuid.uuid4().hex[:8]}", "reader-password-1"
    ok(api.post("/api/user/create", json={"Login": login, "Password": password, "Roles": [role]}))
    with tenant.client() as anonymous:
        token = ok(anonymous.post("/api/user/login", json={"Login": login, "Password": password}))[
            "access_token"
        ]
    with tenant.client(Authorization=f"Bearer {token}") as reader:
        row = ok(reader.get(f"/api/asset/read/{guid}"))
        assert (row["text"], row["password"]) == ("login", "********")
        refused = reader.put("/api/asset/update", json={"Guid": guid, "Text": "x"})
        assert refused.status_code == 403


CALENDAR = {
    "weekend": [6, 7],
    "working": ["2026-11-07"],
    "non_working": ["2026-03-09"],
    "holidays": ["2026-01-01", "2026-01-02"],
}


def test_calendar_json_and_ics_export_and_import(tenant: Tenant) -> None:
    api = tenant.api
    name = _name()
    guid = create_resource(api, name, Type=3, Text=json.dumps(CALENDAR))
    assert ok(api.get(f"/api/asset/calendar/{name}")) == CALENDAR
    ics = api.get(f"/api/asset/calendar/{guid}.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "DTSTART;VALUE=DATE:20260101" in ics.text and "CATEGORIES:WORKING" in ics.text

    other = create_resource(api, _name(), Type=3)
    assert ok(api.get(f"/api/asset/calendar/{other}"))["holidays"] == []
    ok(api.post("/api/asset/calendar/import", json={"Guid": other, "Content": ics.text}))
    assert ok(api.get(f"/api/asset/calendar/{other}")) == CALENDAR
    lines = ["BEGIN:VCALENDAR", "BEGIN:VEVENT", "DTSTART;VALUE=DATE:20260501", "END:VEVENT"]
    feed = "\r\n".join([*lines, "END:VCALENDAR", ""])
    ok(
        api.post(
            "/api/asset/calendar/import", data={"guid": other, "content": feed, "format": "ics"}
        )
    )
    assert ok(api.get(f"/api/asset/calendar/{other}"))["holidays"] == ["2026-05-01"]

    bad = api.post("/api/asset/calendar/import", json={"Guid": other, "Content": '{"weekend": 5}'})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "Content"
    text = create_resource(api, _name())
    not_calendar = api.get(f"/api/asset/calendar/{text}.ics")
    assert not_calendar.status_code == 409 and not_calendar.json()["code"] == "not_a_calendar"
