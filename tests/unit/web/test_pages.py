"""Redirect targets stay on this site; flash messages survive the cookie round trip."""

from __future__ import annotations

import pytest

from robofleet.server.web.charts import donut, stacked_bars
from robofleet.server.web.pages import decode_flash, encode_flash, local_path


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/jobs?status=Failed", "/jobs?status=Failed"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("jobs", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_local_paths_are_followed(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


def test_a_flash_message_round_trips_and_a_forged_one_is_dropped() -> None:
    assert decode_flash(encode_flash("error", "nope <b>")) == {
        "kind": "error",
        "message": "nope <b>",
    }
    assert decode_flash("not base64 at all!") is None
    assert decode_flash(encode_flash("script", "x")) is None


def test_charts_escape_their_labels_and_describe_their_numbers() -> None:
    bars = str(stacked_bars("Jobs", ["<Mon>", "Tue"], {"Success": [3, 0], "Failed": [1, 2]}))
    assert "&lt;Mon&gt;" in bars and "<Mon>" not in bars
    assert "<desc" in bars and "Success 3" in bars and "Failed 2" in bars
    ring = str(donut("Tasks", {"New": 2, "Success": 6}))
    assert "<title" in ring and ">8</text>" in ring
    assert "New (2)" in ring
