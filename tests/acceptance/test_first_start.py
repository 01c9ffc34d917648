"""First start creates `default` and `admin` once, from settings or generated and printed."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess


def printed_credentials(output: str) -> tuple[str | None, str | None]:
    password = re.search(r"admin password: (\S+)", output)
    key = re.search(r"API key:\s+(\S+)", output)
    return (password.group(1) if password else None, key.group(1) if key else None)


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_generated_credentials_are_printed_once(fresh_server: ServerProcess) -> None:
    fresh_server.api_key = None
    fresh_server.admin_password = None
    fresh_server.start()
    password, key = printed_credentials(fresh_server.output())
    assert password and key
    for headers in ({"Key": key}, {"Authorization": f"Bearer {key}"}):
        assert httpx.get(f"{fresh_server.url}/api/user/read", headers=headers).status_code == 200
    login = httpx.post(
        f"{fresh_server.url}/api/user/login", json={"Login": "admin", "Password": password}
    )
    assert login.status_code == 200
    account = httpx.get(f"{fresh_server.url}/api/account/read", headers={"Key": key}).json()
    assert [a["login"] for a in account] == ["default"]

    fresh_server.stop()
    first_output = fresh_server.output()
    fresh_server.start()
    later = fresh_server.output()[len(first_output) :]
    assert printed_credentials(later) == (None, None)
    assert "shown only now" not in later
    assert httpx.get(f"{fresh_server.url}/api/user/read", headers={"Key": key}).status_code == 200


def test_credentials_from_settings_are_used_and_not_printed(fresh_server: ServerProcess) -> None:
    key = str(uuid.uuid4())
    fresh_server.api_key = key
    fresh_server.admin_password = "chosen-admin-password"
    fresh_server.start()
    assert key not in fresh_server.output()
    assert "chosen-admin-password" not in fresh_server.output()
    assert httpx.get(f"{fresh_server.url}/api/user/read", headers={"Key": key}).status_code == 200
    login = httpx.post(
        f"{fresh_server.url}/api/user/login",
        json={"Login": "admin", "Password": "chosen-admin-password"},
    )
    assert login.status_code == 200


def test_a_later_start_changes_nothing(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    original_key = fresh_server.api_key
    fresh_server.stop()
    fresh_server.api_key = str(uuid.uuid4())
    fresh_server.admin_password = "a-different-password"
    fresh_server.start()
    url = f"{fresh_server.url}/api/user/read"
    assert httpx.get(url, headers={"Key": original_key or ""}).status_code == 200
    assert httpx.get(url, headers={"Key": fresh_server.api_key}).status_code == 401


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ROBOFLEET_PORT", "eighty", "ROBOFLEET_PORT"),
        ("ROBOFLEET_API_KEY", "not-a-uuid", "ROBOFLEET_API_KEY"),
        ("ROBOFLEET_DATABASE_URL", "mysql://x", "ROBOFLEET_DATABASE_URL"),
        ("ROBOFLEET_SQLITE_SYNCHRONOUS", "sometimes", "ROBOFLEET_SQLITE_SYNCHRONOUS"),
    ],
)
def test_bad_settings_stop_the_start_with_a_clear_message(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "robofleet", "server", "--data-dir", str(tmp_path)],
        env={"PATH": "/usr/bin:/bin", variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert named in result.stderr
    if variable == "ROBOFLEET_API_KEY":
        assert value not in result.stderr  # secrets are never echoed
