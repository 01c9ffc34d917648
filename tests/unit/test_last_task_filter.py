"""queue/lastTask's status filter, as Sherpa's framework sends it: a form field (text), a
query value, a JSON number or a list; default none (the next New task)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from robofleet.server.schemas.base import invalid_input
from robofleet.server.schemas.queues import LastTaskFilter


@pytest.mark.parametrize(
    ("fields", "statuses"),
    [
        ({}, None),
        ({"status": "0"}, [0]),
        ({"Status": 4}, [4]),
        ({"status": "3,4"}, [3, 4]),
        ({"status": ["3", "4"]}, [3, 4]),
    ],
)
def test_status_forms(fields: dict[str, object], statuses: list[int] | None) -> None:
    assert LastTaskFilter.model_validate(fields).status == statuses


@pytest.mark.parametrize("fields", [{"status": "9"}, {"status": "done"}, {"status": True}])
def test_a_bad_status_is_refused_by_name(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        LastTaskFilter.model_validate(fields)
    assert "Status" in invalid_input(caught.value).message


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        LastTaskFilter.model_validate({"queue_status": 0})
    assert "QueueStatus" in invalid_input(caught.value).message
