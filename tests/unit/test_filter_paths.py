"""The `{filters}` path syntax of the task filter operations (docs/queues.md): `key=value`
segments joined by `/` or `&`, tag conditions `+a;-b`, and `*`/`?` name wildcards."""

from __future__ import annotations

import pytest
from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql, sqlite

from robofleet.server.db.task_statements import like_pattern, tag_conditions
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.schemas.queues import TaskFilter
from robofleet.server.services.tasks.filters import parse_filter_path


def sql(condition: ColumnElement[bool], dialect: object = None) -> str:
    compiled = condition.compile(
        dialect=dialect or sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


def test_segments_by_slash_or_ampersand() -> None:
    assert parse_filter_path("status=0,1/priority=3/tags=+a;-b/name=INV-*") == {
        "status": "0,1",
        "priority": "3",
        "tags": "+a;-b",
        "name": "INV-*",
    }
    assert parse_filter_path("status=0&count=5") == {"status": "0", "count": "5"}


def test_keys_are_case_and_dash_insensitive_and_blanks_are_skipped() -> None:
    assert parse_filter_path("/ Status = 0 //Created-After=2026-01-01/") == {
        "status": "0",
        "created_after": "2026-01-01",
    }
    assert parse_filter_path("") == {}


def test_a_value_keeps_everything_after_the_first_equals_sign() -> None:
    assert parse_filter_path("name=a=b") == {"name": "a=b"}


def test_the_last_repeat_of_a_key_wins() -> None:
    assert parse_filter_path("status=0/status=2") == {"status": "2"}


@pytest.mark.parametrize("segment", ["colour=red", "status", "Created After=1", "=3"])
def test_unknown_keys_and_bare_words_are_refused_with_the_accepted_keys(segment: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_filter_path(f"status=0/{segment}")
    problem = refused.value.details[0]
    assert problem.field == "filters"
    assert f"'{segment.strip()}' is not a filter" in problem.problem
    assert "count, created_after, name, offset, priority, status, tags, take" in problem.problem


def test_parsed_path_validates_as_a_task_filter() -> None:
    parsed = TaskFilter.model_validate(
        parse_filter_path("status=0,1/priority=High;2/take=1/created_after=1700000000/count=5")
    )
    assert parsed.status == [0, 1]
    assert parsed.priority == [3, 2]
    assert parsed.take is True
    assert parsed.count == 5
    assert parsed.created_after is not None and parsed.created_after.timestamp() == 1700000000


def test_like_pattern_turns_wildcards_into_sql_and_escapes_sql_wildcards() -> None:
    assert like_pattern("INV-*") == "INV-%"
    assert like_pattern("a?c") == "a_c"
    assert like_pattern("100%_done") == "100\\%\\_done"
    assert like_pattern("back\\slash*") == "back\\\\slash%"


def test_tag_conditions_include_exclude_and_escape() -> None:
    conditions = tag_conditions("+a; -b_c ;; x%;-")
    assert [sql(c) for c in conditions] == [
        "tasks.tags LIKE '%;a;%' ESCAPE '\\'",
        "tasks.tags NOT LIKE '%;b\\_c;%' ESCAPE '\\'",
        "tasks.tags LIKE '%;x\\%;%' ESCAPE '\\'",
    ]
    assert sql(conditions[1], postgresql.dialect()).startswith("tasks.tags NOT LIKE")
    assert tag_conditions("") == []
