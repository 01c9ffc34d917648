"""Sherpa clients spell one field several ways (`QueueGuid`, `queue_guid`, `RobotGUID`);
every request model folds them into one snake_case name, and names bad fields back in the
caller's spelling."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from robofleet.server.schemas.base import Flag, SherpaModel, fold_keys, invalid_input, snake_key


class Take(SherpaModel):
    queue_guid: str
    name: str = ""
    lease_seconds: int | None = None
    take: Flag = False


@pytest.mark.parametrize(
    ("given", "folded"),
    [
        ("QueueGuid", "queue_guid"),
        ("queue_guid", "queue_guid"),
        ("queueGuid", "queue_guid"),
        ("RobotGUID", "robot_guid"),
        ("JobID", "job_id"),
        ("IDRobot", "id_robot"),
        ("ID_COMPUTER", "id_computer"),
        ("HTTPServerURL", "http_server_url"),
        ("v2Token", "v2_token"),
        ("robot-guid", "robot_guid"),
        ("Robot GUID", "robot_guid"),
        ("  Name ", "name"),
    ],
)
def test_every_spelling_folds_to_snake_case(given: str, folded: str) -> None:
    assert snake_key(given) == folded


def test_a_field_given_twice_in_two_spellings_is_refused() -> None:
    assert fold_keys({"QueueGuid": "a", "LeaseSeconds": 5}) == {
        "queue_guid": "a",
        "lease_seconds": 5,
    }
    with pytest.raises(ValueError, match="'queue_guid' is given twice"):
        fold_keys({"QueueGUID": "a", "queue_guid": "b"})


@pytest.mark.parametrize(
    "body",
    [
        {"QueueGuid": "q", "LeaseSeconds": 5, "Take": 1},
        {"queue_guid": "q", "lease_seconds": "5", "take": "on"},
        {"queueGuid": "q", "leaseSeconds": 5, "take": True},
        {"QueueGUID": "q", "LeaseSeconds": 5, "take": "1"},
    ],
)
def test_models_accept_each_spelling(body: dict[str, object]) -> None:
    assert Take.model_validate(body) == Take(queue_guid="q", lease_seconds=5, take=True)


def test_problems_name_fields_in_pascal_case_one_detail_each() -> None:
    with pytest.raises(ValidationError) as failed:
        Take.model_validate({"queue_guid": "q", "Colour": "red", "lease_seconds": "x"})
    error = invalid_input(failed.value)
    assert error.code == "invalid_input"
    problems = {d.field: d.problem for d in error.details}
    assert set(problems) == {"Colour", "LeaseSeconds"}
    assert problems["Colour"].startswith("is not a field of this operation")
    assert problems["LeaseSeconds"].endswith("(got 'x')")
    with pytest.raises(ValidationError) as wrong:
        Take.model_validate({"QueueGuid": "q", "Name": None})
    assert [(d.field, d.problem) for d in invalid_input(wrong.value).details] == [
        ("Name", "Input should be a valid string (got None)")
    ]
