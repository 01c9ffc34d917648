"""Agent settings: defaults, the environment, and clear errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from robofleet.cli.main import app
from robofleet.robot.config import AgentSettingsError, load_agent_settings

GUID = "0B7C2A55-3F4E-4A36-9D4C-6C2F3E1A9B10"


def test_defaults_follow_the_robot_guid() -> None:
    settings = load_agent_settings(server="http://h:8000/", robot_guid=GUID)
    guid = GUID.lower()
    assert settings.server == "http://h:8000"
    assert settings.robot_guid == guid
    assert settings.work_dir == Path.home() / ".robofleet-robot" / guid
    assert settings.cache_dir == settings.work_dir / "cache"
    assert (settings.heartbeat_interval, settings.wait_timeout, settings.stop_grace) == (5, 30, 30)
    assert settings.log_flush_interval == 1.0


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROBOFLEET_SERVER", "https://fleet.example")
    monkeypatch.setenv("ROBOFLEET_ROBOT_GUID", GUID)
    monkeypatch.setenv("ROBOFLEET_WORK_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("ROBOFLEET_WAIT_TIMEOUT", "12.5")
    settings = load_agent_settings()
    assert settings.work_dir == tmp_path / "w"
    assert settings.cache_dir == tmp_path / "w" / "cache"
    assert settings.wait_timeout == 12.5


def test_bad_values_name_their_variable_and_hide_the_credential() -> None:
    with pytest.raises(AgentSettingsError) as caught:
        load_agent_settings(server="ftp://x", robot_guid="not-a-guid", wait_timeout=61)
    text = str(caught.value)
    assert "ROBOFLEET_SERVER: must be an http:// or https:// URL" in text
    assert "ROBOFLEET_ROBOT_GUID: must be the robot's GUID" in text
    assert "not-a-guid" not in text
    assert "ROBOFLEET_WAIT_TIMEOUT" in text
    assert "ROBOFLEET_WORK_DIR" not in text  # follows from the GUID error; not listed twice


def test_the_command_exits_2_on_bad_settings(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["robot", "--server", "http://h", "--robot", GUID, "--stop-grace", "-1"]
    )
    assert result.exit_code == 2
    assert "ROBOFLEET_STOP_GRACE" in result.output
    missing = CliRunner().invoke(app, ["robot", "--work-dir", str(tmp_path)])
    assert missing.exit_code == 2
    assert "ROBOFLEET_SERVER: required" in missing.output
