"""Pure rules of the Trigger tab's requests: RobotType's two readings, durations and times of
day, condition documents with their defaults, and refusals that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from robofleet.server.domain.errors import InvalidInput
from robofleet.server.schemas.base import invalid_input
from robofleet.server.schemas.trigger_conditions import MailCondition, QueueCondition
from robofleet.server.schemas.triggers import TriggerCreate, TriggerUpdate
from robofleet.server.services.triggers.targets import ONE_ROBOT, ROBOT_GROUP, robot_target
from robofleet.server.services.triggers.views import duration_text


@pytest.mark.parametrize("robot_type", [None, 0, 1, 2])
def test_a_robot_makes_a_one_robot_trigger_in_every_reading(robot_type: int | None) -> None:
    assert robot_target(robot_type, robot=True, group=False) == ONE_ROBOT


@pytest.mark.parametrize("robot_type", [None, 1, 2])
def test_a_group_makes_a_group_trigger_unless_robot_type_says_one_robot(
    robot_type: int | None,
) -> None:
    assert robot_target(robot_type, robot=False, group=True) == ROBOT_GROUP


@pytest.mark.parametrize(
    ("robot_type", "robot", "group", "field"),
    [
        (0, False, True, "RobotType"),
        (None, True, True, "RobotGroupId"),
        (1, False, False, "RobotId"),
    ],
)
def test_contradictions_are_refused_naming_the_field(
    robot_type: int | None, robot: bool, group: bool, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        robot_target(robot_type, robot=robot, group=group)
    assert [d.field for d in caught.value.details] == [field]


def _create(**fields: Any) -> TriggerCreate:
    return TriggerCreate.model_validate({"Name": "t", "ProcessId": 1, **fields})


def _problem(**fields: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        _create(**fields)
    return [d.field for d in invalid_input(caught.value).details]


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("1:30", 5400), ("0:00:45", 45), ("90", 90), (7200, 7200), (None, None), (0, None)],
)
def test_durations_are_h_mm_or_seconds(given: object, seconds: int | None) -> None:
    assert _create(StopAfter=given).stop_after == seconds


@pytest.mark.parametrize("given", ["soon", "1:75", -5, "1.5", 10**9, ""])
def test_bad_durations_are_refused(given: object) -> None:
    assert _problem(AbortAfter=given) == ["AbortAfter"]


def test_durations_read_as_h_mm() -> None:
    assert [duration_text(s) for s in (None, 5400, 3600 * 30, 90)] == [
        None,
        "1:30",
        "30:00",
        "0:01:30",
    ]


def test_times_of_day_are_normalised_and_checked() -> None:
    assert _create(WindowStart="8:05", window_end="23:59").window_start == "08:05"
    for bad in ("24:00", "8", "08:60", "noon"):
        assert _problem(TimeOfDay=bad) == ["TimeOfDay"]


def test_sherpa_flags_and_spellings() -> None:
    data = _create(CheckMissedTrigger="1", skip_non_working="on", RobotGUID="abc")
    assert (data.check_missed_trigger, data.skip_non_working_days, data.robot) == (
        True,
        True,
        "abc",
    )
    assert _create(Priority="low").priority == 1
    assert _problem(Status=2) == ["Status"]
    assert _problem(RobotType=3) == ["RobotType"]
    assert _problem(WhenBusy="wait") == ["WhenBusy"]


def test_update_tells_a_cleared_reference_from_one_not_given() -> None:
    update = TriggerUpdate.model_validate({"Guid": "t", "CalendarId": None, "RobotId": None})
    assert (update.calendar, update.robot) == (None, None)
    assert {"calendar", "robot"} <= update.model_fields_set
    assert "queue" not in update.model_fields_set
    with pytest.raises(ValidationError):
        TriggerUpdate.model_validate({"Guid": "t", "RobotId": ""})  # empty names nothing


def test_queue_condition_defaults_and_spellings() -> None:
    assert QueueCondition().model_dump() == {
        "min_new_tasks": 0,
        "tags": [],
        "tasks_per_job": 1,
        "take_status": "InProgress",
        "finish_when_empty": False,
        "default_task": True,
    }
    given = _create(
        QueueCondition='{"TakeStatus": "in progress", "tags": "a, b", "TasksPerJob": 5}'
    )
    assert given.queue_condition is not None
    assert (given.queue_condition.take_status, given.queue_condition.tags) == (
        "InProgress",
        ["a", "b"],
    )
    assert _problem(QueueCondition={"TasksPerJob": 0}) == ["QueueCondition.TasksPerJob"]
    assert _problem(QueueCondition={"Extra": 1}) == ["QueueCondition.Extra"]


def test_mail_condition_requires_its_server_credential_and_queue() -> None:
    fields = {"Server": "mail", "CredentialId": "login", "QueueId": "inbox"}
    mail = MailCondition.model_validate({**fields, "Encoding": "us-ascii", "Protocol": "POP3"})
    assert (mail.encoding, mail.protocol, mail.folder, mail.check_minutes) == (
        "US-ASCII",
        "pop3",
        "INBOX",
        10,
    )
    assert _problem(MailCondition={"Server": "mail"}) == [
        "MailCondition.CredentialId",
        "MailCondition.QueueId",
    ]
    assert _problem(MailCondition={**fields, "Port": 70000}) == ["MailCondition.Port"]
    # An object where a word belongs is refused by name, not a server error (schemathesis).
    assert _problem(MailCondition={**fields, "Encoding": {}}) == ["MailCondition.Encoding"]
    assert _problem(QueueCondition={"TakeStatus": []}) == ["QueueCondition.TakeStatus"]
    assert _problem(MailCondition={**fields, "CheckMinutes": 0}) == ["MailCondition.CheckMinutes"]
