"""A Robocorp job's artifacts folder (robot.yaml's artifactsDir: robocorp.tasks' log.html,
Robot Framework's output.xml, whatever the robot saved there) kept in Storage under
`Robocorp artifacts/<job GUID>/` when the job ends, as Control Room keeps a run's artifacts.
Best effort: a failed upload is a warning on the job, never its failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from robofleet.contract import LogLevel
from robofleet.robot.client import RobotClient
from robofleet.robot.protocol import ServerRefused, Unreachable

ARTIFACTS_FOLDER = "Robocorp artifacts"
MAX_FILES = 200
MAX_BYTES = 100 * 1024 * 1024
"""Bounds on what one job keeps: the upload runs before the job's report is sent."""


def keep_artifacts(
    client: RobotClient, root: Path, job_guid: str, log: Callable[..., None]
) -> None:
    if not root.is_dir():
        return
    kept: list[Path] = []
    left: list[str] = []
    total = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        size = path.stat().st_size
        if len(kept) < MAX_FILES and total + size <= MAX_BYTES:
            kept.append(path)
            total += size
        else:
            left.append(path.relative_to(root).as_posix())
    if not kept:
        return
    folders: dict[tuple[str, ...], str] = {}
    try:
        for path in kept:
            *sub, name = path.relative_to(root).parts
            where = (ARTIFACTS_FOLDER, job_guid, *sub)
            if where not in folders:
                folders[where] = client.folder(where)
            client.upload_file(folders[where], name, path)
    except (ServerRefused, Unreachable, OSError) as exc:
        log(LogLevel.WARNING, f"artifacts not kept in Storage: {exc}")
        return
    log(
        LogLevel.INFO,
        f"artifacts: {len(kept)} file(s) kept in Storage '{ARTIFACTS_FOLDER}/{job_guid}/'",
    )
    if left:
        log(
            LogLevel.WARNING,
            f"artifacts: {len(left)} file(s) over the limits ({MAX_FILES} files, "
            f"{MAX_BYTES // (1024 * 1024)} MiB) not kept: {', '.join(left[:10])}",
        )
