"""Times in requests: ISO 8601, `YYYY-MM-DD HH:MM:SS`, Designer's `dd.MM.yyyy HH:mm:ss` and
Unix seconds; a time without a zone is UTC. Rows answer in Sherpa's text form or Unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from robofleet.server.schemas.base import InputTime, sherpa_time, unix_time

TIME = TypeAdapter(InputTime)
FIVE_PM = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 1, 31, tzinfo=UTC)
UNIX = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1700000000, UNIX),
        ("1700000000", UNIX),
        (1700000000.5, UNIX + timedelta(milliseconds=500)),
        ("2026-01-31T17:00:00Z", FIVE_PM),
        ("2026-01-31T17:00:00+00:00", FIVE_PM),
        ("2026-01-31T19:00:00+02:00", FIVE_PM),
        ("2026-01-31T17:00:00", FIVE_PM),
        ("2026-01-31 17:00:00", FIVE_PM),
        ("  2026-01-31 17:00:00 ", FIVE_PM),
        ("2026-01-31", MIDNIGHT),
        ("31.01.2026 17:00:00", FIVE_PM),
        ("31.01.2026T17:00", FIVE_PM),
        ("31.01.2026", MIDNIGHT),
        (datetime(2026, 1, 31, 17, 0), FIVE_PM),
        ("", None),
        (None, None),
    ],
)
def test_accepted_forms(given: object, expected: datetime | None) -> None:
    parsed = TIME.validate_python(given)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


def test_a_given_zone_gives_the_same_instant() -> None:
    parsed = TIME.validate_python("2026-01-31T19:00:00+02:00")
    assert parsed == datetime(2026, 1, 31, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize("given", ["tomorrow", "2026-13-01", "31.01.26", "-5"])
def test_other_text_is_refused_with_the_accepted_forms(given: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TIME.validate_python(given)
    assert "use ISO 8601" in str(refused.value)


def test_a_boolean_is_not_a_time() -> None:
    with pytest.raises(ValidationError):
        TIME.validate_python(True)


def test_answers_in_sherpa_text_and_unix_seconds() -> None:
    evening = datetime(2026, 1, 31, 19, 0, tzinfo=timezone(timedelta(hours=2)))
    assert sherpa_time(evening) == "2026-01-31 17:00:00"
    assert unix_time(UNIX) == 1700000000
    assert sherpa_time(None) is None and unix_time(None) is None


def test_the_same_instant_reads_the_same_in_any_zone_and_each_instant_its_own() -> None:
    """sherpa_time keeps what it formatted (a take renders the same few times hundreds of
    times): an equal instant given in another zone reads alike, a second later reads on."""
    utc = datetime(2026, 3, 1, 8, 30, 15, 999999, tzinfo=UTC)
    assert sherpa_time(utc) == "2026-03-01 08:30:15"
    same = utc.astimezone(timezone(timedelta(hours=-5)))
    assert sherpa_time(same) == "2026-03-01 08:30:15"
    assert sherpa_time(utc + timedelta(microseconds=1)) == "2026-03-01 08:30:16"
    assert sherpa_time(same) == sherpa_time(utc) == "2026-03-01 08:30:15"
