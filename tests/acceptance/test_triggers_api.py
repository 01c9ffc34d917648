"""The Trigger tab (`/api/schedule/*`) over HTTP on both stores: Sherpa's operations with its
request forms (JSON and form bodies, PascalCase and snake_case, objects by id, GUID or name),
both readings of RobotType, the queue and e-mail conditions as stored, the rules that refuse
a trigger (422 naming the field, nothing changed), list, enable/disable, preview, history."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.acceptance.conftest import Tenant
from tests.acceptance.test_permissions import user_with_role
from tests.support.fleet import make_process, make_robot
from tests.support.queues import make_queue
from tests.support.resources import create_resource, make_group_with, ok


def _name() -> str:
    return f"trig-{uuid.uuid4().hex[:8]}"


def create(api: httpx.Client, **fields: Any) -> str:
    return str(ok(api.post("/api/schedule/create", json={"Name": _name(), **fields}))["guid"])


def refused(response: httpx.Response, field: str, status: int = 422) -> str:
    assert response.status_code == status, response.text
    if status == 422:
        assert [d["field"] for d in response.json()["details"]] == [field], response.text
    return str(response.json()["message"])


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def test_create_read_update_delete_in_sherpa_forms(tenant: Tenant) -> None:
    api = tenant.api
    process_name = f"p-{uuid.uuid4().hex[:6]}"
    process = make_process(api, process_name)
    robot = make_robot(api)
    name = _name()
    created = ok(
        api.post(
            "/api/schedule/create",
            json={
                "Name": name,
                "Description": "every weekday at nine",
                "Status": 1,
                "ProcessingType": 2,
                "CronTab": "0 9 * * 1-5",
                "RobotType": 0,
                "RobotId": robot,
                "StartAt": "2026-01-01 00:00:00",
                "EndAt": "2036-01-01 00:00:00",
                "MaxRuns": 5,
                "MaxRunningRobots": 1,
                "CheckMissedTrigger": 1,
                "ProcessId": process_name,
                "Priority": "High",
                "Parameters": {"month": "2026-10"},
                "TimeZone": "Europe/Moscow",
                "StopAfter": "1:30",
                "AbortAfter": 7200,
            },
        )
    )
    assert set(created) == {"guid"}
    row = ok(api.get(f"/api/schedule/read/{created['guid']}"))
    assert (row["name"], row["status"], row["status_name"]) == (name, 1, "Enabled")
    assert (row["processing_type"], row["schedule_kind"], row["cron_tab"]) == (
        2,
        "cron",
        "0 9 * * 1-5",
    )
    assert (row["robot_type"], row["robot_guid"], row["robot_group_id"]) == (1, robot, None)
    assert (row["process_guid"], row["priority"], row["parameters"]) == (
        process,
        3,
        {"month": "2026-10"},
    )
    assert (row["max_runs"], row["max_running_robots"], row["check_missed_trigger"]) == (5, 1, 1)
    assert (row["stop_after"], row["stop_after_seconds"], row["abort_after"]) == (
        "1:30",
        5400,
        "2:00",
    )
    assert (row["start_at"], row["end_at"]) == ("2026-01-01 00:00:00", "2036-01-01 00:00:00")
    assert (row["runs"], row["month_runs"], row["last_fire_at"], row["is_deleted"]) == (
        0,
        0,
        None,
        0,
    )
    # 09:00 in Moscow is 06:00 UTC, on a weekday, within a week from now.
    next_fire = _time(row["next_fire_at"])
    assert next_fire.strftime("%H:%M") == "06:00" and next_fire.isoweekday() <= 5
    assert timedelta(0) < next_fire - datetime.now(UTC) <= timedelta(days=4)
    assert ok(api.get(f"/api/schedule/read/{row['id']}"))["guid"] == row["guid"]
    assert ok(api.get(f"/api/schedule/read/{name}"))["guid"] == row["guid"]

    # Sherpa's runnable examples: a form with snake_case keys.
    form = {"guid": row["guid"], "cron_tab": "30 7 * * *", "time_zone": "UTC", "status": "1"}
    assert ok(api.put("/api/schedule/update", data=form)) == []
    updated = ok(api.get(f"/api/schedule/read/{name}"))
    assert (updated["cron_tab"], updated["description"]) == ("30 7 * * *", "every weekday at nine")
    assert _time(updated["next_fire_at"]).strftime("%H:%M") == "07:30"
    ok(api.put("/api/schedule/update", json={"Guid": row["id"], "Name": name + "-2"}))
    assert ok(api.get(f"/api/schedule/read/{row['guid']}"))["name"] == name + "-2"

    assert ok(api.delete(f"/api/schedule/delete/{row['guid']}")) == []
    assert api.get(f"/api/schedule/read/{row['guid']}").status_code == 404
    audit = ok(api.get("/api/audit/list", params={"ObjectGuid": row["guid"]}))["items"]
    assert [entry["action"] for entry in audit] == ["delete", "update", "update", "create"]
    assert audit[-1]["object_type"] == "trigger" and audit[-1]["changes"]["name"] == name
    assert create(api, ProcessId=process, RobotId=robot, CronTab="* * * * *") != row["guid"]


def test_robot_type_in_both_of_sherpas_readings(tenant: Tenant) -> None:
    api = tenant.api
    process = make_process(api)
    robot = make_robot(api)
    group = make_group_with(api, robot)
    base = {"ProcessId": process, "ProcessingType": 1}
    for robot_type in (0, 1, 2, None):
        extra = {} if robot_type is None else {"RobotType": robot_type}
        guid = create(api, **base, **extra, RobotId=robot)
        assert ok(api.get(f"/api/schedule/read/{guid}"))["robot_type"] == 1
    for robot_type in (1, 2, None):
        extra = {} if robot_type is None else {"RobotType": robot_type}
        guid = create(api, **base, **extra, RobotGroupId=group, WhenBusy="any_free")
        row = ok(api.get(f"/api/schedule/read/{guid}"))
        assert (row["robot_type"], row["robot_group_guid"], row["when_busy"]) == (
            2,
            group,
            "any_free",
        )
    post = "/api/schedule/create"
    refused(
        api.post(post, json={"Name": _name(), **base, "RobotType": 0, "RobotGroupId": group}),
        "RobotType",
    )
    refused(
        api.post(post, json={"Name": _name(), **base, "RobotId": robot, "RobotGroupId": group}),
        "RobotGroupId",
    )
    refused(api.post(post, json={"Name": _name(), **base, "RobotType": 1}), "RobotId")
    refused(
        api.post(post, json={"Name": _name(), **base, "RobotId": robot, "WhenBusy": "any_free"}),
        "WhenBusy",
    )
    # Switching the target on update: the group replaces the robot.
    guid = create(api, **base, RobotId=robot)
    ok(api.put("/api/schedule/update", data={"guid": guid, "robot_group_id": group}))
    row = ok(api.get(f"/api/schedule/read/{guid}"))
    assert (row["robot_type"], row["robot_id"], row["robot_group_guid"]) == (2, None, group)
    assert ok(api.get("/api/schedule/list", params={"RobotGroupId": group}))["total"] == 4


def test_queue_and_mail_conditions_are_stored_whole(tenant: Tenant) -> None:
    api = tenant.api
    process = make_process(api)
    robot = make_robot(api)
    queue = make_queue(api)
    queue_id = ok(api.get(f"/api/queue/read/{queue}"))["id"]
    guid = create(
        api,
        ProcessId=process,
        RobotId=robot,
        QueueId=queue,
        QueueCondition={"MinNewTasks": 3, "Tags": "invoice;urgent", "TakeStatus": "New"},
    )
    row = ok(api.get(f"/api/schedule/read/{guid}"))
    assert (row["processing_type"], row["schedule_kind"], row["queue_id"]) == (
        1,
        "continuous",
        queue_id,
    )
    assert row["queue_condition"] == {
        "min_new_tasks": 3,
        "tags": ["invoice", "urgent"],
        "tasks_per_job": 1,
        "take_status": "New",
        "finish_when_empty": False,
        "default_task": True,
    }
    assert ok(api.get("/api/schedule/list", params={"QueueId": queue}))["total"] == 1

    login = create_resource(api, _name(), Type=1, Text="robot@example.com", Password="Mail-Pa55")
    mail = {
        "Server": "imap.example.com",
        "CredentialId": login,
        "QueueId": queue,
        "SubjectContains": "invoice, bill",
        "AttachmentMasks": ["*.pdf"],
        "UnreadOnly": "1",
        "CheckMinutes": 5,
    }
    form = {
        "name": _name(),
        "process_id": process,
        "robot_id": robot,
        "mail_condition": json.dumps(mail),
    }
    mailed = ok(api.post("/api/schedule/create", data=form))["guid"]
    stored = ok(api.get(f"/api/schedule/read/{mailed}"))["mail_condition"]
    credential_id = ok(api.get(f"/api/asset/read/{login}"))["id"]
    assert stored == {
        "protocol": "imap",
        "server": "imap.example.com",
        "port": 993,
        "ssl": True,
        "credential_id": credential_id,
        "shared_mailbox": None,
        "folder": "INBOX",
        "encoding": "UTF-8",
        "unread_only": True,
        "mark_read": True,
        "one_job_per_mail": True,
        "subject_contains": ["invoice", "bill"],
        "body_contains": [],
        "attachment_masks": ["*.pdf"],
        "min_mails": 0,
        "check_minutes": 5,
        "queue_id": queue_id,
    }

    post = "/api/schedule/create"
    base = {"Name": _name(), "ProcessId": process, "RobotId": robot, "ProcessingType": 1}
    message = refused(
        api.post(post, json={**base, "QueueId": queue, "QueueCondition": {"MinTasks": 1}}),
        "QueueCondition.MinTasks",
    )
    assert "not a field" in message
    refused(api.post(post, json={**base, "QueueCondition": {"MinNewTasks": 1}}), "QueueId")
    text = create_resource(api, _name(), Text="not a login")
    refused(
        api.post(post, json={**base, "MailCondition": {**mail, "CredentialId": text}}),
        "MailCondition.CredentialId",
    )
    refused(
        api.post(post, json={**base, "MailCondition": {**mail, "Protocol": "smtp"}}),
        "MailCondition.Protocol",
    )
    # The queue cleared (null) on update takes its condition with it; an empty one names
    # nothing and is refused.
    refused(api.put("/api/schedule/update", json={"Guid": guid, "QueueId": ""}), "QueueId")
    ok(api.put("/api/schedule/update", json={"Guid": guid, "QueueId": None}))
    row = ok(api.get(f"/api/schedule/read/{guid}"))
    assert (row["queue_id"], row["queue_condition"]) == (None, None)


def test_bad_triggers_are_refused_naming_the_field(tenant: Tenant) -> None:
    api = tenant.api
    process = make_process(api)
    robot = make_robot(api)
    post = "/api/schedule/create"
    name = _name()
    base = {"Name": name, "ProcessId": process, "RobotId": robot}
    refused(api.post(post, json=base), "ProcessingType")
    refused(api.post(post, json={**base, "CronTab": "61 * * * *"}), "CronTab")
    refused(api.post(post, json={**base, "ProcessingType": 2}), "CronTab")
    refused(
        api.post(post, json={**base, "CronTab": "* * * * *", "TimeZone": "Mars/Base"}), "TimeZone"
    )
    refused(
        api.post(post, json={**base, "ScheduleKind": "continuous", "ProcessingType": 2}),
        "ProcessingType",
    )
    refused(api.post(post, json={**base, "ProcessingType": 1, "CronTab": "* * * * *"}), "CronTab")
    refused(
        api.post(post, json={**base, "ScheduleKind": "nth_day", "TimeOfDay": "08:00"}), "DayOfMonth"
    )
    refused(
        api.post(post, json={**base, "ScheduleKind": "last_day", "TimeOfDay": "25:00"}), "TimeOfDay"
    )
    cron = {**base, "CronTab": "* * * * *"}
    refused(api.post(post, json={**cron, "StartAt": "2030-01-01", "EndAt": "2029-01-01"}), "EndAt")
    refused(api.post(post, json={**cron, "WindowStart": "08:00"}), "WindowEnd")
    refused(api.post(post, json={**cron, "SkipNonWorkingDays": True}), "CalendarId")
    text = create_resource(api, _name(), Text="no calendar")
    refused(
        api.post(post, json={**cron, "SkipNonWorkingDays": 1, "CalendarId": text}), "CalendarId"
    )
    refused(api.post(post, json={**cron, "StopAfter": "soon"}), "StopAfter")
    refused(api.post(post, json={**cron, "Status": 2}), "Status")
    refused(api.post(post, json={**cron, "Colour": "red"}), "Colour")
    assert api.post(post, json={**cron, "ProcessId": str(uuid.uuid4())}).status_code == 404
    assert ok(api.get("/api/schedule/list", params={"Name": name}))["total"] == 0  # none made

    guid = create(api, **{**cron, "Name": name})
    taken = api.post(post, json=cron)
    assert taken.status_code == 409 and taken.json()["code"] == "name_taken"
    # A refused update changes nothing.
    refused(
        api.put("/api/schedule/update", json={"Guid": guid, "CronTab": "x", "Name": "other"}),
        "CronTab",
    )
    assert ok(api.get(f"/api/schedule/read/{guid}"))["name"] == name


def test_list_enable_disable_preview_history(tenant: Tenant) -> None:
    api = tenant.api
    process = make_process(api)
    robot = make_robot(api)
    prefix = _name()
    guids = [
        create(api, Name=f"{prefix}-{n}", ProcessId=process, RobotId=robot, CronTab=f"{n} 6 * * *")
        for n in range(3)
    ]
    continuous = create(api, Name=f"{prefix}-c", ProcessId=process, RobotId=robot, ProcessingType=1)
    page = ok(api.get("/api/schedule/list", params={"ProcessId": process, "Count": 2}))
    assert (page["total"], page["count"]) == (4, 2)
    assert [r["name"] for r in page["items"]] == [f"{prefix}-0", f"{prefix}-1"]
    rest = ok(api.post("/api/schedule/list", json={"ProcessId": process, "Offset": 2}))
    assert [r["name"] for r in rest["items"]] == [f"{prefix}-2", f"{prefix}-c"]
    assert ok(api.get("/api/schedule/list", params={"ScheduleKind": "continuous"}))["total"] == 1

    assert ok(api.post(f"/api/schedule/disable/{guids[0]}")) == []
    row = ok(api.get(f"/api/schedule/read/{guids[0]}"))
    assert (row["status"], row["next_fire_at"]) == (0, None)
    assert ok(api.get("/api/schedule/list", params={"Status": 0}))["total"] == 1
    assert ok(api.post(f"/api/schedule/enable/{guids[0]}")) == []
    row = ok(api.get(f"/api/schedule/read/{guids[0]}"))
    assert row["status"] == 1 and _time(row["next_fire_at"]).strftime("%H:%M") == "06:00"

    preview = ok(api.get(f"/api/schedule/preview/{guids[1]}", params={"Count": 3}))
    times = [_time(t["at"]) for t in preview["fire_times"]]
    assert len(times) == 3 and all(t.strftime("%H:%M") == "06:01" for t in times)
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(days=1)] * 2
    assert times[0] == _time(ok(api.get(f"/api/schedule/read/{guids[1]}"))["next_fire_at"])
    assert ok(api.get(f"/api/schedule/preview/{continuous}"))["continuous"] is True
    unsaved = ok(
        api.post(
            "/api/schedule/preview",
            json={"CronTab": "0 12 * * *", "TimeZone": "Asia/Tokyo", "Count": 2},
        )
    )
    assert [t["local"][11:19] for t in unsaved["fire_times"]] == ["12:00:00"] * 2
    assert unsaved["fire_times"][0]["at"].endswith("03:00:00")
    refused(api.post("/api/schedule/preview", json={"CronTab": "nope"}), "CronTab")

    history = ok(api.get(f"/api/schedule/history/{guids[2]}"))
    assert (history["total"], history["items"]) == (0, [])
    assert api.get(f"/api/schedule/history/{uuid.uuid4()}").status_code == 404


def test_test_creates_a_job_as_the_trigger_would(tenant: Tenant) -> None:
    api = tenant.api
    process = make_process(api)
    robot = make_robot(api)
    guid = create(
        api,
        ProcessId=process,
        RobotId=robot,
        CronTab="0 3 * * *",
        MaxRuns=1,
        MaxRunningRobots=1,
        Priority=3,
        Parameters={"who": "test"},
    )
    trigger_id = ok(api.get(f"/api/schedule/read/{guid}"))["id"]
    outcome = ok(api.post(f"/api/schedule/test/{guid}"))
    assert (outcome["created"], outcome["duplicate"]) == (True, False), outcome
    job = ok(api.get(f"/api/job/read/{outcome['job_guid']}"))
    assert (job["source"], job["schedule_id"], job["robot_guid"]) == ("Trigger", trigger_id, robot)
    assert (job["priority"], job["parameters"]) == (3, {"who": "test"})
    # A test is the operator's "run it now": it counts toward no limit (MaxRuns stays unspent).
    assert ok(api.get(f"/api/schedule/read/{guid}"))["runs"] == 0

    # The concurrency cap still holds: the first job is Pending, so no second one, and the
    # history says why.
    again = ok(api.post(f"/api/schedule/test/{guid}"))
    assert (again["created"], again["job_guid"]) == (False, None) and again["detail"]
    history = ok(api.get(f"/api/schedule/history/{guid}", params={"Count": 10}))
    assert history["total"] == 2
    skipped, created = history["items"]
    assert (skipped["reason"], skipped["outcome"], skipped["detail"]) == (
        "test",
        "skipped",
        again["detail"],
    )
    assert (created["outcome"], created["job_guid"]) == ("created", outcome["job_guid"])
    assert created["fire_key"].startswith("test:") and created["scheduled_at"] is None
    assert api.post(f"/api/schedule/test/{uuid.uuid4()}").status_code == 404


def test_the_trigger_rights(tenant: Tenant) -> None:
    """Reading (read, list, preview, history) needs Trigger read; enable, disable and test
    need Trigger update, like update itself."""
    api = tenant.api
    guid = create(api, ProcessId=make_process(api), RobotId=make_robot(api), CronTab="0 4 * * *")
    with user_with_role(tenant, {"trigger": "r"}) as reader:
        assert ok(reader.get(f"/api/schedule/read/{guid}"))["guid"] == guid
        assert ok(reader.get("/api/schedule/list"))["total"] == 1
        ok(reader.get(f"/api/schedule/preview/{guid}"))
        ok(reader.get(f"/api/schedule/history/{guid}"))
        for path in ("test", "enable", "disable"):
            assert reader.post(f"/api/schedule/{path}/{guid}").status_code == 403
        update = reader.put("/api/schedule/update", json={"Guid": guid, "MaxRuns": 1})
        assert update.status_code == 403
        assert reader.delete(f"/api/schedule/delete/{guid}").status_code == 403
    assert ok(api.get(f"/api/schedule/read/{guid}"))["max_runs"] == 0


def test_every_schedule_kind_with_calendar_and_window(tenant: Tenant) -> None:
    """The schedule fields reach domain.schedules as written: the preview shows its times."""
    api = tenant.api
    base = {"ProcessId": make_process(api), "RobotId": make_robot(api)}
    calendar = _name()
    create_resource(api, calendar, Type=3, Text=json.dumps({"weekend": [6, 7]}))

    def times(guid: str, count: int = 4) -> list[datetime]:
        shown = ok(api.get(f"/api/schedule/preview/{guid}", params={"Count": count}))
        return [_time(t["at"]) for t in shown["fire_times"]]

    # The 2nd working day of each month at 10:00 in Berlin (a calendar named by name).
    second = create(
        api,
        **base,
        ScheduleKind="nth_day",
        DayOfMonth=2,
        TimeOfDay="10:00",
        WorkingDays=1,
        CalendarId=calendar,
        TimeZone="Europe/Berlin",
    )
    row = ok(api.get(f"/api/schedule/read/{second}"))
    assert (row["processing_type"], row["calendar_guid"] is not None) == (2, True)
    for at in times(second):
        local = at.astimezone(ZoneInfo("Europe/Berlin"))
        assert local.strftime("%H:%M") == "10:00" and local.isoweekday() <= 5
        workdays = [
            day for day in range(1, local.day + 1) if local.replace(day=day).isoweekday() <= 5
        ]
        assert len(workdays) == 2, local
    assert _time(row["next_fire_at"]) == times(second, 1)[0]

    # The last day of each month at 18:30 UTC.
    last = create(api, **base, ScheduleKind="last_day", TimeOfDay="18:30")
    for at in times(last):
        assert at.strftime("%H:%M") == "18:30" and (at + timedelta(days=1)).day == 1

    # Hourly, only inside 08:00-10:00 Tokyo, only on working days.
    hourly = create(
        api,
        **base,
        CronTab="0 * * * *",
        TimeZone="Asia/Tokyo",
        WindowStart="08:00",
        WindowEnd="10:00",
        SkipNonWorkingDays=True,
        CalendarId=calendar,
    )
    for at in times(hourly, 6):
        local = at.astimezone(ZoneInfo("Asia/Tokyo"))
        assert local.strftime("%H:%M") in {"08:00", "09:00"} and local.isoweekday() <= 5

    # Valid from a future start: the first fire is the first one at or after it.
    later = create(api, **base, CronTab="0 12 * * *", StartAt="2030-06-01 12:00:00")
    assert ok(api.get(f"/api/schedule/read/{later}"))["next_fire_at"] == "2030-06-01 12:00:00"
    refused(
        api.post(
            "/api/schedule/create",
            json={**base, "Name": _name(), "CronTab": "0 3 * * *", "WindowStart": "08:00",
                  "WindowEnd": "10:00"},
        ),
        "WindowStart",
    )  # fmt: skip
