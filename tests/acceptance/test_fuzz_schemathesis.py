"""Schemathesis against a real server on each store: every operation, every phase (examples,
coverage, fuzzing, stateful), every check, including undocumented status codes and response
schema conformance. The document must tell the truth about what the server answers and
accepts, and no input may make it fail (issue 8).

The API key operations (assign, refresh) replace the key the run authenticates with, so they
run against a server of their own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.conftest import database_url
from tests.support.server import ServerProcess

CONFIG = Path(__file__).parents[1] / "support" / "schemathesis.toml"
KEY_ROTATION = "^/api/apiKey/"
PHASES = "examples,coverage,fuzzing,stateful"


def schemathesis(server: ServerProcess, report_dir: Path, *selection: str) -> tuple[int, str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Key: {server.api_key}",
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
        *selection,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1500, check=False)
    return done.returncode, done.stdout + done.stderr


def every_selected_operation_tested(output: str) -> bool:
    selected = re.search(r"Selected: (\d+)/\d+", output)
    tested = re.search(r"Tested: (\d+)", output)
    return bool(selected and tested and selected.group(1) == tested.group(1))


def failure_report(output: str, server: ServerProcess) -> str:
    """Schemathesis's own report (each failure with a curl to reproduce it), and the end of
    the server's log for 5xx tracebacks."""
    return f"{output[-20000:]}\n--- server log (end) ---\n{server.output()[-5000:]}"


@pytest.mark.slow
@pytest.mark.fuzz
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_schemathesis_finds_nothing(
    backend: str, tmp_path: Path, pg_url_factory: list[str]
) -> None:
    main = ServerProcess(
        data_dir=tmp_path / "main", database_url=database_url(backend, pg_url_factory)
    ).start()
    keys = ServerProcess(
        data_dir=tmp_path / "keys", database_url=database_url(backend, pg_url_factory)
    ).start()
    try:
        code, output = schemathesis(
            main, tmp_path / "report-main", "--exclude-path-regex", KEY_ROTATION
        )
        assert code == 0, failure_report(output, main)
        assert every_selected_operation_tested(output), output[-3000:]
        code, output = schemathesis(
            keys, tmp_path / "report-keys", "--include-path-regex", KEY_ROTATION
        )
        assert code == 0, failure_report(output, keys)
    finally:
        main.stop()
        keys.stop()
