"""The job page's live log: a tail's `log` events become `line` events whose data is the
line as an escaped <li>; comments and the retry hint pass unchanged."""

from __future__ import annotations

import json

from robofleet.server.web.screens.jobs import _as_line_event


def test_a_log_event_becomes_an_escaped_line_with_its_id() -> None:
    data = {
        "id": 42,
        "Message": "a <script>x</script> & b",
        "level_name": "Error",
        "created_at": "2026-12-03 10:00:00",
    }
    sent = _as_line_event(f"id: 42\nevent: log\ndata: {json.dumps(data)}\n\n")
    assert sent.startswith('id: 42\nevent: line\ndata: <li id="line-42" data-level="error">')
    assert "a &lt;script&gt;x&lt;/script&gt; &amp; b" in sent
    assert "<script>" not in sent
    assert "[Error]" in sent and "2026-12-03 10:00:00" in sent
    assert sent.endswith("\n\n")


def test_a_multi_line_message_stays_one_event() -> None:
    data = {"id": 7, "Message": "Traceback:\n  line 1\nValueError", "level_name": "Error"}
    sent = _as_line_event(f"id: 7\nevent: log\ndata: {json.dumps(data)}\n\n")
    assert sent.count("event: line") == 1
    assert sent.count("data: ") == 3  # one data line per message line; the browser joins them
    assert sent.endswith("\n\n") and "\n\n" not in sent[:-2]


def test_comments_and_retry_pass_unchanged() -> None:
    assert _as_line_event(": keep-alive\n\n") == ": keep-alive\n\n"
    assert _as_line_event("retry: 1000\n\n") == "retry: 1000\n\n"
