"""The job-side SDK: standard library only, lazy, safe outside a robot."""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from robofleet import sdk
from robofleet.sdk import context, http

ROBOFLEET_VARIABLES = [
    context.SERVER,
    context.ROBOT_GUID,
    context.JOB_GUID,
    context.PROCESS_VERSION_GUID,
    context.JOB_PARAMETERS,
    context.DEFAULT_TASK,
    context.CONTROL_DIR,
]


@pytest.fixture
def control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(context.CONTROL_DIR, str(tmp_path))
    monkeypatch.setenv(context.JOB_PARAMETERS, '{"month": "2026-10"}')
    monkeypatch.setenv(context.JOB_GUID, "job-1")
    return tmp_path


def test_outside_a_robot_parameters_are_empty_and_log_goes_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ROBOFLEET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert sdk.parameters() == {}
    assert sdk.parameter("month", "default") == "default"
    assert sdk.default_task() is None and sdk.job_guid() is None
    assert not sdk.should_stop()
    sdk.log("warn", "trying it locally", step=1)
    sdk.set_progress(10)
    assert 'WARNING trying it locally {"step": 1}' in capsys.readouterr().err


def test_the_environment_is_read_on_each_call_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(context.JOB_PARAMETERS, '{"a": 1}')
    assert sdk.parameters() == {"a": 1}
    monkeypatch.setenv(context.JOB_PARAMETERS, '{"a": 2}')
    assert sdk.parameter("a") == 2


def test_log_lines_from_many_threads_are_whole_json_lines(control: Path) -> None:
    def write(n: int) -> None:
        for i in range(100):
            sdk.log("Info", f"thread {n} line {i} " + "x" * 500, n=n)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [json.loads(line) for line in (control / "log.jsonl").read_text().splitlines()]
    assert len(records) == 800
    assert set(records[0]) == {"time", "level", "message", "fields"}
    assert sorted(r["fields"]["n"] for r in records) == sorted(
        n for n in range(8) for _ in range(100)
    )


def test_progress_and_return_value_are_validated_and_written(control: Path) -> None:
    sdk.set_progress(55)
    assert (control / "progress").read_text() == "55"
    for bad in (101, -1, True, "50", 5.5):
        with pytest.raises(ValueError):
            sdk.set_progress(bad)  # type: ignore[arg-type]
    assert (control / "progress").read_text() == "55"
    sdk.set_return_value({"rows": [1, 2]})
    assert json.loads((control / "return_value.json").read_text()) == {"rows": [1, 2]}
    with pytest.raises(TypeError):
        sdk.set_return_value(object())
    with pytest.raises(ValueError):
        sdk.set_return_value(math.nan)
    with pytest.raises(ValueError):
        sdk.log("Loud", "no such level")
    assert sorted(p.name for p in control.iterdir()) == ["progress", "return_value.json"]


def test_should_stop_follows_the_stop_file(control: Path) -> None:
    assert not sdk.should_stop()
    (control / "stop").touch()
    assert sdk.should_stop()


def test_the_sdk_copy_imports_with_the_standard_library_only(sdk_dir: Path) -> None:
    # -S: no site-packages at all, as in a fresh virtual environment without our packages.
    code = "import robofleet.sdk, robofleet.sdk.job; print(sorted(robofleet.sdk.__all__))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROBOFLEET_", "PYTHON"))}
    env["PYTHONPATH"] = str(sdk_dir)
    done = subprocess.run(
        [sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "should_stop" in done.stdout
    server = subprocess.run(
        [sys.executable, "-S", "-c", "import robofleet.server"], env=env, capture_output=True
    )
    assert server.returncode != 0  # only the SDK was copied


def test_a_screenshot_travels_with_the_line(control: Path, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    shot = tmp_path / "shot.png"
    shot.write_bytes(png)
    sdk.log("Info", "look", screenshot=shot, page=2)
    record = json.loads((control / "log.jsonl").read_text().splitlines()[-1])
    assert (record["message"], record["fields"]) == ("look", {"page": 2})
    assert base64.b64decode(record["screenshot"]) == png
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="not a PNG"):
        sdk.log("Info", "x", screenshot=tmp_path / "notes.txt")


def test_a_rate_limited_call_is_sent_again_after_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """429 means the server stored nothing: the SDK waits Retry-After and sends it again."""
    answers = [429, 429, 200]
    seen: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.rfile.read(int(self.headers["Content-Length"])))
            status = answers.pop(0)
            body = b'{"count": 1}' if status == 200 else b'{"code": "rate_limited"}'
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv(context.SERVER, f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("ROBOFLEET_API_KEY", "3f2a8c1e-5b7d-4e9f-a1c2-0d3e4f5a6b7c")
        monkeypatch.delenv(context.ROBOT_GUID, raising=False)
        assert http.call("POST", "/api/log/batch", [{"Message": "m"}]) == {"count": 1}
        assert len(seen) == 3 and len(set(seen)) == 1
    finally:
        server.shutdown()
