"""The Log tab's pure rules: the rate limiter, cursors, image recognition, GUIDs in bulk, and
the batch reader agreeing with the LogLine model."""

from __future__ import annotations

import uuid

import orjson
import pytest

from robofleet.contract import image_type
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.images import decode_base64_image
from robofleet.server.domain.refs import new_guids
from robofleet.server.runtime.rate_limit import TokenBuckets, retry_after_seconds
from robofleet.server.schemas.log_batch import parse_batch
from robofleet.server.schemas.logs import LogLine
from robofleet.server.services.logs.reading import at_or_above, decode_cursor, encode_cursor


def test_a_batch_takes_all_its_tokens_or_none() -> None:
    buckets = TokenBuckets()
    assert buckets.take(1, 80, rate=10, burst=100, now=0) == 0
    assert buckets.take(1, 30, rate=10, burst=100, now=0) == pytest.approx(1.0)  # 20 left
    assert buckets.take(1, 20, rate=10, burst=100, now=0) == 0  # nothing was taken above
    assert buckets.take(2, 100, rate=10, burst=100, now=0) == 0  # robots do not share
    assert buckets.take(1, 10, rate=10, burst=100, now=1) == 0  # refilled 10 in a second


def test_a_batch_beyond_the_burst_passes_a_full_bucket_and_leaves_debt() -> None:
    buckets = TokenBuckets()
    assert buckets.take(1, 500, rate=100, burst=100, now=0) == 0
    assert buckets.take(1, 1, rate=100, burst=100, now=0) == pytest.approx(4.01)
    assert buckets.take(1, 1, rate=100, burst=100, now=4.01) == 0
    assert buckets.take(1, 10**9, rate=0, burst=1, now=0) == 0  # rate 0: no limit
    assert retry_after_seconds(0.01) == 1 and retry_after_seconds(2.5) == 3


def test_cursors_round_trip_and_refuse_what_was_not_given_out() -> None:
    assert decode_cursor(encode_cursor(True, 42)) == (True, 42)
    assert decode_cursor(encode_cursor(False, 7)) == (False, 7)
    for bad in ("", "x1", "a", "a-1", "d" + "9" * 19, "a1.5"):
        with pytest.raises(InvalidInput):
            decode_cursor(bad)


def test_levels_at_or_above() -> None:
    assert at_or_above("Warning") == ["Warning", "Error", "Critical"]
    assert at_or_above("Debug")[0] == "Debug" and len(at_or_above("Debug")) == 6


def test_images_are_known_by_their_first_bytes() -> None:
    assert image_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert image_type(b"GIF89a") == "image/gif"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_type(b"BM" + b"\x00" * 12) == "image/bmp"
    assert image_type(b"%PDF-1.7") is None
    assert decode_base64_image("data:image/gif;base64,R0lGODlh", 100) == (b"GIF89a", "image/gif")
    for text, problem in (("R0lGODlh" * 40, "larger"), ("@@@@", "base64"), ("JVBERi0x", "image")):
        with pytest.raises(ValueError, match=problem):
            decode_base64_image(text, 100)


def test_guids_in_bulk_are_version_4_uuids_and_distinct() -> None:
    guids = new_guids(2000)
    assert len(set(guids)) == 2000
    for guid in guids:
        parsed = uuid.UUID(guid)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, guid)


@pytest.mark.parametrize(
    "line",
    [
        {"Message": " hi ", "Level": "warn", "Time": 1_700_000_000.25, "Fields": {"a": [1]}},
        {"message": "x", "level": 3, "job_guid": " ABC ", "time": "2026-01-01T00:00:00Z"},
        {"Message": "x", "Fields": {"big": 2**63 - 1}, "RobotGUID": None},
        {"Message": "x", "Time": 0, "Level": "CRIT"},
    ],
)
def test_the_fast_reader_agrees_with_the_model(line: dict[str, object]) -> None:
    (fast,) = parse_batch(orjson.dumps([line]))
    model = LogLine.model_validate(line)
    for name in ("message", "level", "time", "robot_guid", "job_guid", "process_version_guid"):
        assert getattr(fast, name) == getattr(model, name), name
    assert (fast.fields or {}) == model.fields


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"Message": "a\u0000"}, "Lines[0].Message"),
        ({"Message": "x", "Fields": {"k": "\u0000"}}, "Lines[0].Fields"),
        ({"Message": "x", "Fields": {"n": 2**63}}, "Lines[0].Fields"),
        ({"Message": "x", "Time": 1e300}, "Lines[0].Time"),
        ({"Message": "x", "Level": False}, "Lines[0].Level"),
        ({"Message": "x", "Message ": "y"}, "Lines[0]"),
    ],
)
def test_the_fast_reader_refuses_what_the_model_refuses(
    line: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_batch(orjson.dumps([line]))
    assert refused.value.details[0].field.startswith(field)
