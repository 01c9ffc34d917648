"""What a process version's package is and how a robot runs it (see docs/robot-protocol.md)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from robofleet.server.domain.errors import InvalidInput

Kind = Literal["python", "robotframework", "command"]
KINDS: tuple[Kind, ...] = ("python", "robotframework", "command")
MANIFEST = "robofleet.json"


@dataclass(frozen=True)
class PackageInfo:
    kind: Kind
    entry_point: str
    requirements: str = ""


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
        names = [n for n in archive.namelist() if not n.endswith("/")]
        for name in names:
            if name.startswith("/") or ".." in PurePosixPath(name).parts:
                raise _problem(f"the zip holds an unsafe path '{name}'")
        if MANIFEST in names:
            return _from_manifest(archive.read(MANIFEST), set(names))
        return _inferred(set(names))


def _from_manifest(raw: bytes, names: set[str]) -> PackageInfo:
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _problem(f"robofleet.json is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise _problem("robofleet.json must hold a JSON object")
    kind = manifest.get("kind")
    if kind not in KINDS:
        raise _problem(f"robofleet.json 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    entry = manifest.get("entry_point")
    if not isinstance(entry, str) or not entry.strip():
        raise _problem("robofleet.json needs an 'entry_point'")
    requirements = manifest.get("requirements", "") or ""
    if not isinstance(requirements, str):
        raise _problem("robofleet.json 'requirements' must be a path inside the zip")
    if requirements and requirements not in names:
        raise _problem(f"robofleet.json names requirements '{requirements}', not in the zip")
    if kind == "python" and not entry.startswith("module:") and entry not in names:
        raise _problem(f"the entry point '{entry}' is not in the zip")
    if kind == "robotframework" and not any(
        n == entry or n.startswith(entry.rstrip("/") + "/") for n in names
    ):
        raise _problem(f"the suite '{entry}' is not in the zip")
    return PackageInfo(kind, entry.strip(), requirements)


def _inferred(names: set[str]) -> PackageInfo:
    if "main.py" in names:
        return PackageInfo(
            "python", "main.py", "requirements.txt" if "requirements.txt" in names else ""
        )
    suites = sorted(n for n in names if n.endswith(".robot") and "/" not in n)
    if suites:
        return PackageInfo("robotframework", suites[0] if len(suites) == 1 else ".")
    raise _problem(
        "the zip has no robofleet.json manifest, no main.py and no .robot suite; "
        "add robofleet.json naming its kind and entry point"
    )
