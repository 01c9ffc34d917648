"""Pure rules of the /robocorp API: what a release means, and how a secret's values are
stored as a resource."""

from __future__ import annotations

from typing import Any

import pytest

from robofleet.contract import TaskStatus
from robofleet.server.domain.errors import MalformedRequest
from robofleet.server.services.resources.crud import CREDENTIALS, TEXT
from robofleet.server.services.robocorp.vault import stored_form
from robofleet.server.services.robocorp.workitems import release_outcome


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"state": "COMPLETED"}, (TaskStatus.SUCCESS, "", "")),
        (
            {"state": "FAILED", "exception": {"type": "BUSINESS", "code": " E1 ", "message": "m"}},
            (TaskStatus.FAILED_BUSINESS, "E1", "m"),
        ),
        (
            {"state": "FAILED", "exception": {"type": "application"}},
            (TaskStatus.FAILED_APPLICATION, "", ""),
        ),
        ({"state": "FAILED"}, (TaskStatus.FAILED_APPLICATION, "", "")),
        # An exception beside COMPLETED says nothing (the libraries never send one).
        ({"state": "completed", "exception": {"type": "BUSINESS"}}, (TaskStatus.SUCCESS, "", "")),
    ],
)
def test_releases_map_to_task_outcomes(body: dict[str, Any], expected: tuple[Any, ...]) -> None:
    assert release_outcome(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        {"state": "DONE"},
        {"state": ""},
        {"state": "FAILED", "exception": {"type": "OTHER"}},
        {"state": "FAILED", "exception": "BUSINESS"},
    ],
)
def test_other_releases_are_bad_input(body: dict[str, Any]) -> None:
    with pytest.raises(MalformedRequest):
        release_outcome(body)


def test_secret_values_choose_the_resource_type() -> None:
    assert stored_form({"username": "u", "password": "p"}) == (CREDENTIALS, "u", "p")
    assert stored_form({"password": "p"}) == (CREDENTIALS, "", "p")
    assert stored_form({"value": "v"}) == (TEXT, "v", None)
    assert stored_form({"value": 3}) == (TEXT, '{"value": 3}', None)
    assert stored_form({"username": "u", "password": "p", "url": "x"}) == (
        TEXT,
        '{"username": "u", "password": "p", "url": "x"}',
        None,
    )
