"""What the agent tells a job: the ROBOFLEET_* environment variables of docs/robot-protocol.md
(robofleet.contract.JobEnv).

Read on every call, never at import, so a script can be imported by tests or tools first and
run as a job later; without those variables (a script tried outside a robot) every value is
simply absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from robofleet.contract import JobEnv

SERVER = JobEnv.SERVER
ROBOT_GUID = JobEnv.ROBOT_GUID
ROBOT_SECRET = JobEnv.ROBOT_SECRET
JOB_GUID = JobEnv.JOB_GUID
PROCESS_VERSION_GUID = JobEnv.PROCESS_VERSION_GUID
JOB_PARAMETERS = JobEnv.JOB_PARAMETERS
DEFAULT_TASK = JobEnv.DEFAULT_TASK
CONTROL_DIR = JobEnv.CONTROL_DIR


def _value(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def server_url() -> str | None:
    return _value(SERVER)


def robot_guid() -> str | None:
    return _value(ROBOT_GUID)


def robot_secret() -> str | None:
    return _value(ROBOT_SECRET)


def job_guid() -> str | None:
    return _value(JOB_GUID)


def process_version_guid() -> str | None:
    return _value(PROCESS_VERSION_GUID)


def control_dir() -> Path | None:
    """The folder shared with the agent, or None outside a robot."""
    value = _value(CONTROL_DIR)
    return Path(value) if value else None


def inside_robot() -> bool:
    return control_dir() is not None


def job_parameters() -> dict[str, Any]:
    text = _value(JOB_PARAMETERS)
    if text is None:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"{JOB_PARAMETERS} must hold a JSON object, not {type(value).__name__}")
    return value


def default_task() -> dict[str, Any] | None:
    text = _value(DEFAULT_TASK)
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) and value else None
