"""What a process version's package is and how a robot runs it (see docs/robot-protocol.md)."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from robofleet.packaging import (
    MANIFEST,
    ROBOT_YAML,
    ManifestError,
    infer_manifest,
    parse_manifest,
    unsafe_entry,
)
from robofleet.packaging import Manifest as PackageInfo
from robofleet.robocorp_robot import (
    RobotYamlError,
    TaskNotNamed,
    parse_environment,
    parse_robot_yaml,
)
from robofleet.server.domain.errors import InvalidInput


def _problem(message: str) -> InvalidInput:
    return InvalidInput.for_field("ProcessFile", message)


def inspect_package(file_name: str, path: Path) -> PackageInfo:
    """Read the package at `path` (uploaded as `file_name`) and say how to run it."""
    suffix = PurePosixPath(file_name.lower()).suffix
    if suffix == ".py":
        return PackageInfo("python", PurePosixPath(file_name).name)
    if suffix == ".robot":
        return PackageInfo("robotframework", PurePosixPath(file_name).name)
    if not zipfile.is_zipfile(path):
        raise _problem(
            f"'{file_name}' is not a package: upload a .zip with a robofleet.json manifest, "
            "a single .py script or a single .robot suite"
        )
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            # The agent's rule (robofleet.packaging): refused here, not on a robot later.
            why = unsafe_entry(info.filename, info.external_attr)
            if why:
                raise _problem(f"the zip entry '{info.filename}' {why}; rebuild the zip without it")
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if MANIFEST in names:
            package = _from_manifest(archive.read(MANIFEST), set(names))
        else:
            package = _inferred(set(names))
        if package.kind == "robocorp":
            _check_robot(archive, package.entry_point, set(names))
        return package


def _from_manifest(raw: bytes, names: set[str]) -> PackageInfo:
    try:
        manifest = parse_manifest(raw)
    except ManifestError as exc:
        raise _problem(str(exc)) from None
    entry, requirements = manifest.entry_point, manifest.requirements
    if requirements and requirements not in names:
        raise _problem(f"robofleet.json names requirements '{requirements}', not in the zip")
    if manifest.kind == "python" and not entry.startswith("module:") and entry not in names:
        raise _problem(f"the entry point '{entry}' is not in the zip")
    if manifest.kind == "robotframework" and not any(
        n == entry or n.startswith(entry.rstrip("/") + "/") for n in names
    ):
        raise _problem(f"the suite '{entry}' is not in the zip")
    return PackageInfo(manifest.kind, entry, requirements)


def _inferred(names: set[str]) -> PackageInfo:
    try:
        manifest = infer_manifest({n for n in names if "/" not in n})
    except ManifestError as exc:
        nested = sorted(n for n in names if n.endswith("/" + ROBOT_YAML))
        if nested:  # the usual slip: the robot's folder zipped instead of its contents
            raise _problem(
                f"robot.yaml must be at the zip's root, not '{nested[0]}': zip the robot "
                "folder's contents"
            ) from None
        raise _problem(str(exc)) from None
    return PackageInfo(manifest.kind, manifest.entry_point, manifest.requirements)


def _check_robot(archive: zipfile.ZipFile, task: str, names: set[str]) -> None:
    """A Robocorp robot is refused here, not on a robot later, when its robot.yaml (or an
    environment file it names) cannot be run as the version says."""
    if ROBOT_YAML not in names:
        raise _problem("a robocorp package needs robot.yaml at the zip's root")
    try:
        robot = parse_robot_yaml(archive.read(ROBOT_YAML))
        robot.task(task)
        named = robot.conda_config_file
        if named and named not in names and not set(robot.environment_configs) & names:
            raise RobotYamlError(f"robot.yaml names condaConfigFile '{named}', not in the zip")
        for config in (*robot.environment_configs, robot.conda_config_file):
            if config and config in names:
                parse_environment(archive.read(config), config)
    except TaskNotNamed as exc:
        choose = 'robofleet.json {"kind": "robocorp", "entry_point": "<task>"}'
        raise _problem(f"{exc} in {choose}") from None
    except RobotYamlError as exc:
        raise _problem(str(exc)) from None
