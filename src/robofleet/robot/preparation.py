"""Getting a job ready to start: its package in the cache and laid out in the job's folder,
the manifest that says how to run it, and the Python (maybe a fresh venv) to run it with."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from robofleet.contract import LogLevel
from robofleet.packaging import Manifest
from robofleet.robot.client import RobotClient
from robofleet.robot.config import AgentSettings
from robofleet.robot.environments import EnvironmentBuildError, python_for, sdk_path
from robofleet.robot.files import LockTimeout
from robofleet.robot.packages import (
    PackageError,
    fetch_package,
    lay_out,
    package_file_name,
    resolve_manifest,
)
from robofleet.robot.protocol import ChecksumMismatch, ServerRefused, Unreachable
from robofleet.robot.robocorp import RobocorpSetup, RobotDefinitionError, prepare_robot
from robofleet.robot.servers import ServerList

PREPARE_ERRORS = (
    PackageError,
    ChecksumMismatch,
    EnvironmentBuildError,
    ServerRefused,
    Unreachable,
    LockTimeout,
    RobotDefinitionError,
    OSError,
    zipfile.BadZipFile,
    ValueError,
)
"""What makes a job fail before it starts (the reason becomes its message)."""


@dataclass(frozen=True)
class Prepared:
    manifest: Manifest
    python: Path
    sdk: Path
    robocorp: RobocorpSetup | None = None


def prepare(
    settings: AgentSettings,
    version: dict[str, Any],
    job_dir: Path,
    *,
    cancel: threading.Event,
    log: Callable[..., None],
    transport: httpx.BaseTransport | None = None,
    servers: ServerList | None = None,
) -> Prepared:
    """Runs on a helper thread; `cancel` (a stop or abort meanwhile) cuts downloads and
    environment builds short. `log(level, message, **fields)` writes to the job's log."""
    version_guid = str(version.get("GUID", ""))
    sha = str(version.get("Sha256") or "")
    with RobotClient(
        servers or settings.server,
        settings.robot_guid,
        secret=settings.secret,
        cancel=cancel,
        transport=transport,
    ) as client:
        package = fetch_package(client, settings.cache_dir, version_guid, sha, retry=None)
    lay_out(package, package_file_name(version), job_dir)
    manifest = resolve_manifest(version, job_dir)
    requirements = job_dir / manifest.requirements if manifest.requirements else None
    kind, robocorp = manifest.kind, None
    if manifest.kind == "robocorp":
        robot = prepare_robot(job_dir, manifest.entry_point, settings.cache_dir, sha, log)
        robocorp, requirements = robot.setup, robot.requirements
        if robot.setup.runs_robot_framework:  # a robotTaskName task: ensure `python -m robot`
            kind = "robotframework"
    elif requirements is not None:
        log(LogLevel.INFO, f"preparing the environment for {manifest.requirements}")
    python = python_for(
        settings.cache_dir,
        sha,
        requirements,
        kind=kind,
        on_output=lambda line: log(LogLevel.INFO, line, source="pip"),
        cancelled=cancel.is_set,
    )
    return Prepared(manifest, python, sdk_path(settings.cache_dir), robocorp)
