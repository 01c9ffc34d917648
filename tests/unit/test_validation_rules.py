"""The pure rules behind the one validation layer: what a reference is, what both stores can
keep, which times are accepted, and which zip entries a robot may lay out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from robofleet.packaging import unsafe_entry
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.refs import NO_LEASE, Ref, classify_ref, lease_key, new_guid, parse_ref
from robofleet.server.domain.values import INT64_MAX, INT64_MIN, storable_problem
from robofleet.server.schemas.base import InputTime
from robofleet.server.settings import SettingsError, load_settings

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (7, Ref("id", 7)),
        ("7", Ref("id", 7)),
        (" 0042 ", Ref("id", 42)),
        (str(INT64_MAX), Ref("id", INT64_MAX)),
        (GUID.upper(), Ref("guid", GUID)),
        ("{" + GUID + "}", Ref("guid", GUID)),
        (GUID.replace("-", ""), Ref("guid", GUID)),
        ("Invoices", Ref("name", "Invoices")),
        ("\u00b2", Ref("name", "\u00b2")),  # superscript two is no number here
        ("\u0661", Ref("name", "\u0661")),  # nor is Arabic-Indic one
        ("urn:uuid:" + GUID, Ref("name", "urn:uuid:" + GUID)),
        (GUID[:-1] + "-" + GUID[-1], Ref("name", GUID[:-1] + "-" + GUID[-1])),
    ],
)
def test_references_are_classified(raw: int | str, expected: Ref) -> None:
    assert classify_ref(raw) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (True, "not a boolean"),
        (False, "not a boolean"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("a\x00b", "NUL byte"),
        (2**63, "not an id"),
        (str(2**63), "not an id"),
        (INT64_MIN - 1, "not an id"),
    ],
)
def test_references_that_name_nothing_are_refused(raw: int | str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        classify_ref(raw)
    with pytest.raises(InvalidInput) as caught:
        parse_ref(raw, field="Queue")
    assert caught.value.details[0].field == "Queue"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (GUID, GUID),
        (f" {GUID.upper()}\t", GUID),
        ("{" + GUID + "}", GUID),
        (GUID.replace("-", ""), GUID),
        ("not-the-lease", NO_LEASE),
        ("", NO_LEASE),
        (GUID[:-1], NO_LEASE),
        ("1" * 32, NO_LEASE),  # a GUID's form, but digits: an id to classify_ref
    ],
)
def test_lease_ids_read_as_guids_or_as_no_lease(raw: str, expected: str) -> None:
    assert lease_key(raw) == expected


def test_no_lease_is_never_a_new_lease() -> None:
    # What a stranger's text compares as must never be a lease the server hands out: leases
    # are version 4 GUIDs, the nil GUID is version 0.
    assert all(new_guid()[14] == "4" for _ in range(100)) and NO_LEASE[14] == "0"


@pytest.mark.parametrize(
    "value",
    ["text", "", 0, INT64_MAX, INT64_MIN, 1.5, True, None, {"a": [1, "b", {"c": None}]}, []],
)
def test_storable_values(value: object) -> None:
    assert storable_problem(value) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\x00", "NUL byte"),
        (2**63, "whole number"),
        (INT64_MIN - 1, "whole number"),
        (float("nan"), "finite"),
        (float("-inf"), "finite"),
        ({"a": {"b": [1, "x\x00"]}}, "(at a.b[1])"),
        ({"a\x00": 1}, "NUL byte (\\u0000) in a key"),
        ([{"n": 2**64}], "(at [0].n)"),
    ],
)
def test_unstorable_values_say_where(value: object, problem: str) -> None:
    found = storable_problem(value)
    assert found is not None
    assert problem in found


TIME = TypeAdapter(InputTime)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2030-01-31T17:00:00Z", datetime(2030, 1, 31, 17, tzinfo=UTC)),
        ("2030-01-31T17:00:00+02:00", datetime(2030, 1, 31, 15, tzinfo=UTC)),
        ("2030-01-31 17:00:00", datetime(2030, 1, 31, 17, tzinfo=UTC)),
        ("31.01.2030 17:00", datetime(2030, 1, 31, 17, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        ("1900000000", datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC)),
        ("1900-01-01T00:00:00Z", datetime(1900, 1, 1, tzinfo=UTC)),
        ("9999-12-30T23:59:59Z", datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC)),
        ("", None),
    ],
)
def test_times_in_range(raw: object, expected: datetime | None) -> None:
    assert TIME.validate_python(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "1899-12-31T23:59:59Z",
        1e20,
        -1e20,
        "100000000000000000000",
        float("inf"),
        float("nan"),
        "\u0661\u0662",  # Arabic-Indic digits are no Unix time
    ],
)
def test_times_out_of_range_are_refused(raw: object) -> None:
    with pytest.raises(ValidationError):
        TIME.validate_python(raw)


@pytest.mark.parametrize(
    ("name", "mode", "problem"),
    [
        ("main.py", 0o100644, None),
        ("lib/helper.py", 0o100755, None),
        ("lib/", 0o40755, None),
        ("./main.py", 0, None),
        ("lib\\helper.py", 0, "backslash"),
        ("C:/x.py", 0, "drive letter"),
        ("lib/a:b.py", 0, "stream"),
        ("/etc/x", 0, "absolute"),
        ("a/../../x", 0, "climbs out"),
        ("./", 0, "names no file"),
        ("link", 0o120777, "symbolic link"),
    ],
)
def test_zip_entries(name: str, mode: int, problem: str | None) -> None:
    found = unsafe_entry(name, mode << 16)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("robot_timeout_seconds", float("inf")),
        ("unknown_job_grace_seconds", float("nan")),
        ("unknown_job_grace_seconds", 1e12),
        ("token_ttl_seconds", 10**12),
        ("roboteasy_token_ttl_seconds", 10**12),
    ],
)
def test_setting_durations_are_finite_and_bounded(tmp_path: Path, name: str, value: float) -> None:
    """A duration the scheduler or the token issuer could not add to a time is refused at
    start, naming the variable."""
    with pytest.raises(SettingsError, match=f"ROBOFLEET_{name.upper()}"):
        load_settings(data_dir=tmp_path, **{name: value})
