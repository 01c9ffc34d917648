"""The package format shared by the server (which inspects uploads) and the robot agent
(which runs them): the `robofleet.json` manifest and what a package without one means.
Standard library only: both sides import it."""

from __future__ import annotations

import json
import stat
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

Kind = Literal["python", "robotframework", "command", "robocorp"]
KINDS: tuple[Kind, ...] = ("python", "robotframework", "command", "robocorp")
MANIFEST = "robofleet.json"
ROBOT_YAML = "robot.yaml"
"""A Robocorp robot's definition (robofleet.robocorp_robot reads it)."""


class ManifestError(ValueError):
    """The manifest (or the package's files) does not say how to run the package."""


@dataclass(frozen=True)
class Manifest:
    kind: str
    entry_point: str
    requirements: str = ""


def parse_manifest(raw: bytes) -> Manifest:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"robofleet.json is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ManifestError("robofleet.json must hold a JSON object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ManifestError(
            f"robofleet.json 'kind' must be one of {', '.join(KINDS)}, not {kind!r}"
        )
    entry = data.get("entry_point")
    if kind == "robocorp" and entry in (None, ""):
        entry = ""  # robot.yaml's only task
    elif not isinstance(entry, str) or not entry.strip():
        raise ManifestError("robofleet.json needs an 'entry_point'")
    requirements = data.get("requirements") or ""
    if not isinstance(requirements, str):
        raise ManifestError("robofleet.json 'requirements' must be a path inside the package")
    return Manifest(str(kind), entry.strip(), requirements.strip())


def infer_manifest(top_level_files: Collection[str]) -> Manifest:
    """A package without a manifest: `main.py` is Python, `*.robot` files a Robot Framework
    suite (a folder of suites when there are several), `robot.yaml` a Robocorp robot (its
    only task; robofleet.json with kind robocorp names one of several)."""
    if ROBOT_YAML in top_level_files:
        return Manifest("robocorp", "")
    if "main.py" in top_level_files:
        requirements = "requirements.txt" if "requirements.txt" in top_level_files else ""
        return Manifest("python", "main.py", requirements)
    suites = sorted(name for name in top_level_files if name.endswith(".robot"))
    if suites:
        return Manifest("robotframework", suites[0] if len(suites) == 1 else ".")
    raise ManifestError(
        "the package has no robofleet.json manifest, no main.py, no .robot suite and no "
        "robot.yaml; "
        "add robofleet.json naming its kind and entry point"
    )


def unsafe_entry(name: str, external_attr: int = 0) -> str | None:
    """Why the zip entry `name` may not be laid out in a job's folder, on any robot's system;
    None when it may. The server refuses such a package at upload and the agent at lay-out,
    by this one rule: a path that could land outside the folder on Windows or POSIX
    (absolute, `..`, a drive letter or `:`, a backslash) or a symbolic link."""
    if "\\" in name:
        return "uses a backslash; zip paths separate folders with '/'"
    if "\x00" in name:
        return "holds a NUL byte"
    if name.startswith("/"):
        return "is an absolute path"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts:
        return "names no file"
    if ".." in parts:
        return "climbs out of the package ('..')"
    if any(":" in part for part in parts):
        return "holds ':' (a Windows drive letter or stream)"
    if stat.S_ISLNK(external_attr >> 16):
        return "is a symbolic link"
    return None
