"""Process packages: fetched into the cache by SHA-256, laid out into a job's folder, and the
manifest that says how to run them ("Package format" in docs/robot-protocol.md)."""

from __future__ import annotations

import logging
import shutil
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from robofleet import packaging
from robofleet.packaging import (
    KINDS,
    MANIFEST,
    ROBOT_YAML,
    Manifest,
    ManifestError,
    infer_manifest,
)
from robofleet.robot.client import RobotClient
from robofleet.robot.files import replace, sha256_file, temp_path_beside
from robofleet.robot.protocol import ChecksumMismatch

log = logging.getLogger(__name__)


class PackageError(Exception):
    """A package that cannot be run as it is."""


def cached_package(cache_dir: Path, sha256: str) -> Path:
    # By content only: versions with the same bytes share one file whatever their names.
    return cache_dir / "packages" / sha256.lower()


def _verified(path: Path, sha256: str) -> bool:
    if not path.is_file():
        return False
    if sha256_file(path) == sha256.lower():
        return True
    log.warning("cached package %s is corrupt; fetching it again", path)
    path.unlink(missing_ok=True)
    return False


def add_to_cache(source: Path, cache_dir: Path, expected_sha256: str) -> Path:
    """Copy a local package file into the cache, refusing it if its hash is not the expected
    one."""
    target = cached_package(cache_dir, expected_sha256)
    if _verified(target, expected_sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_beside(target)
    try:
        shutil.copyfile(source, temp)
        actual = sha256_file(temp)
        if actual != expected_sha256.lower():
            raise ChecksumMismatch(f"{source.name}: SHA-256 {actual}, expected {expected_sha256}")
        replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def fetch_package(
    client: RobotClient, cache_dir: Path, version_guid: str, sha256: str, *, retry: float | None
) -> Path:
    """The package of a process version, from the cache or downloaded into it."""
    if not sha256:
        raise PackageError(f"process version {version_guid} names no SHA-256 to verify")
    target = cached_package(cache_dir, sha256)
    if _verified(target, sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    client.download_package(version_guid, target, sha256, retry=retry)
    return target


def package_file_name(version: dict[str, Any]) -> str:
    """The uploaded file's name; Sherpa versions without one carry the script path in Name."""
    name = str(version.get("FileName") or version.get("Name") or "package.zip")
    return PurePosixPath(name.replace("\\", "/")).name or "package.zip"


def lay_out(package: Path, file_name: str, job_dir: Path) -> None:
    """Put the package's files into `job_dir`: a zip is extracted, a single script copied."""
    job_dir.mkdir(parents=True, exist_ok=True)
    suffix = PurePosixPath(file_name.lower()).suffix
    if suffix in (".py", ".robot"):
        shutil.copyfile(package, job_dir / _safe_name(file_name))
        return
    if not zipfile.is_zipfile(package):
        raise PackageError(f"'{file_name}' is neither a .zip nor a .py or .robot file")
    extract_zip(package, job_dir)


def _safe_name(file_name: str) -> str:
    name = PureWindowsPath(file_name).name  # splits on both / and \
    if not name or name in (".", ".."):
        raise PackageError(f"unusable file name '{file_name}'")
    return name


def extract_zip(package: Path, job_dir: Path) -> None:
    """Extract, refusing any entry that would land outside `job_dir` (zip slip)."""
    root = job_dir.resolve()
    with zipfile.ZipFile(package) as archive:
        members = [(info, _inside(root, info)) for info in archive.infolist()]
        for info, target in members:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            mode = info.external_attr >> 16
            if mode & 0o111:  # keep scripts of `command` packages runnable (no-op on Windows)
                target.chmod(target.stat().st_mode | (mode & 0o111))


def _inside(root: Path, info: zipfile.ZipInfo) -> Path:
    """Where an entry lands; the server refused unsafe entries at upload by the same rule."""
    name = info.filename
    why = packaging.unsafe_entry(name, info.external_attr)
    if why:
        raise PackageError(f"the zip holds an unsafe path '{name}': it {why}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root):
        raise PackageError(f"the zip holds an unsafe path '{name}'")
    return target


def read_manifest(job_dir: Path, file_name: str) -> Manifest:
    """How to run a laid-out package: robofleet.json, else inferred from its files."""
    suffix = PurePosixPath(file_name.lower()).suffix
    if suffix == ".py":
        return Manifest("python", _safe_name(file_name))
    if suffix == ".robot":
        return Manifest("robotframework", _safe_name(file_name))
    manifest = job_dir / MANIFEST
    if manifest.is_file():
        return parse_manifest(manifest.read_bytes())
    try:
        return infer_manifest({p.name for p in job_dir.iterdir() if p.is_file()})
    except ManifestError as exc:
        raise PackageError(str(exc)) from None


def parse_manifest(raw: bytes) -> Manifest:
    try:
        return packaging.parse_manifest(raw)
    except ManifestError as exc:
        raise PackageError(str(exc)) from None


def resolve_manifest(version: dict[str, Any], job_dir: Path) -> Manifest:
    """The server's word (Kind, EntryPoint, Requirements) when it gives one, else the
    package's own manifest; checked against the files laid out in `job_dir`."""
    kind, entry = version.get("Kind"), version.get("EntryPoint")
    if kind == "robocorp":  # its EntryPoint may be "": robot.yaml's only task
        manifest = Manifest(kind, str(entry or "").strip())
    elif isinstance(kind, str) and kind and isinstance(entry, str) and entry.strip():
        manifest = Manifest(kind, entry.strip(), str(version.get("Requirements") or "").strip())
    else:
        manifest = read_manifest(job_dir, package_file_name(version))
    check_manifest(manifest, job_dir)
    return manifest


def check_manifest(manifest: Manifest, job_dir: Path) -> None:
    if manifest.kind not in KINDS:
        raise PackageError(f"unknown package kind {manifest.kind!r}")
    if manifest.requirements:
        _existing(job_dir, manifest.requirements, "requirements file")
    if manifest.kind == "python" and not manifest.entry_point.startswith("module:"):
        _existing(job_dir, manifest.entry_point, "entry point")
    elif manifest.kind == "python" and not manifest.entry_point.removeprefix("module:").strip():
        raise PackageError("entry point 'module:' names no module")
    elif manifest.kind == "robotframework":
        _existing(job_dir, manifest.entry_point, "suite")
    elif manifest.kind == "robocorp":
        _existing(job_dir, ROBOT_YAML, "robot definition")


def _existing(job_dir: Path, relative: str, what: str) -> Path:
    root = job_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise PackageError(f"the {what} '{relative}' points outside the package")
    if not path.exists():
        raise PackageError(f"the {what} '{relative}' is not in the package")
    return path
