"""Agent settings: environment variables prefixed ROBOFLEET_, typed and validated at start."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from robofleet.contract import ROBOT_SECRET_PREFIX, JobEnv, server_urls


def _default_work_dir(data: dict[str, Any]) -> Path:
    return Path.home() / ".robofleet-robot" / str(data["robot_guid"])


def _default_cache_dir(data: dict[str, Any]) -> Path:
    return Path(data["work_dir"]) / "cache"


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROBOFLEET_", extra="ignore")

    server: str = Field(
        description="Server URL, e.g. http://127.0.0.1:8000, or the URLs of several nodes "
        "separated by commas: the first that answers is used, the next when it fails."
    )
    robot_guid: str = Field(description="The robot's GUID (also its credential).")
    robot_secret: SecretStr | None = Field(
        None,
        description="The robot's secret, issued with the robot or by /api/robot/issueSecret; "
        "when given, every call sends it with the GUID (and so do the jobs' SDK calls).",
    )
    work_dir: Path = Field(
        default_factory=_default_work_dir,
        description="Job folders and the outbox; default ~/.robofleet-robot/<robot guid>.",
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Packages, virtual environments and the SDK copy; may be shared by agents.",
    )
    heartbeat_interval: float = Field(5.0, gt=0, le=300, description="Seconds between beats.")
    wait_timeout: float = Field(30.0, ge=1, le=60, description="Long-poll seconds of waitJob.")
    stop_grace: float = Field(30.0, ge=0, description="Seconds from a soft stop to the kill.")
    log_flush_interval: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Seconds a job's log lines gather before they are posted together "
        "(a flush the agent waits for, e.g. at the job's end, sends at once).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("server")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return ",".join(server_urls(value))

    @field_validator("robot_guid")
    @classmethod
    def _guid(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            raise ValueError(
                "must be the robot's GUID, a UUID such as 3f2a8c1e-5b7d-4e9f-a1c2-0d3e4f5a6b7c"
            ) from None

    @field_validator("robot_secret", mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str):
            text = text.strip()
            if not text:
                return None  # an empty variable: no secret
            if not text.startswith(ROBOT_SECRET_PREFIX) or any(c in text for c in ": \t"):
                raise ValueError(
                    f"must be the robot's secret as issued (it starts with '{ROBOT_SECRET_PREFIX}')"
                )
        return text

    @property
    def secret(self) -> str | None:
        """The robot's secret in clear, for the Authorization header only."""
        return self.robot_secret.get_secret_value() if self.robot_secret else None

    @field_validator("work_dir", "cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Jobs run in their own folder: every path handed to them must be absolute.
        return value.expanduser().absolute()


class AgentSettingsError(Exception):
    """Settings that failed validation, rendered one line per bad variable."""


# The agent reads its GUID and secret from the variables it passes on to its jobs.
_SECRET_VARIABLES = {JobEnv.ROBOT_GUID.value, JobEnv.ROBOT_SECRET.value}


def load_agent_settings(**overrides: object) -> AgentSettings:
    try:
        return AgentSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            if error["type"] == "default_factory_not_called":
                continue  # follows from another error, already listed
            name = "ROBOFLEET_" + "_".join(str(part) for part in error["loc"]).upper()
            if error["type"] == "missing":
                lines.append(f"{name}: required")
                continue
            shown = "hidden" if name in _SECRET_VARIABLES else repr(error.get("input"))
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message} (got {shown})")
        raise AgentSettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
