"""Packages: manifest parsing and inference, layout, zip slip, hashes, download into the cache."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import httpx
import pytest

from robofleet.packaging import Manifest
from robofleet.robot.client import RobotClient
from robofleet.robot.packages import (
    PackageError,
    add_to_cache,
    cached_package,
    fetch_package,
    lay_out,
    parse_manifest,
    read_manifest,
    resolve_manifest,
)
from robofleet.robot.protocol import ChecksumMismatch

GUID = "0b7c2a55-3f4e-4a36-9d4c-6c2f3e1a9b10"


def make_zip(path: Path, files: dict[str, str], modes: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (modes or {}).get(name, 0o644) << 16
            archive.writestr(info, text)
    return path


def laid_out(tmp_path: Path, files: dict[str, str]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    job = tmp_path / "job"
    lay_out(make_zip(tmp_path / "p.zip", files), "p.zip", job)
    return job


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_manifest_is_parsed() -> None:
    raw = json.dumps({"kind": "python", "entry_point": "module:inv.run", "requirements": "r.txt"})
    assert parse_manifest(raw.encode()) == Manifest("python", "module:inv.run", "r.txt")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1]", "JSON object"),
        (b'{"kind": "java", "entry_point": "x"}', "'kind' must be one of"),
        (b'{"kind": "python"}', "needs an 'entry_point'"),
        (b'{"kind": "python", "entry_point": "a.py", "requirements": 5}', "'requirements'"),
    ],
)
def test_bad_manifests_are_refused(raw: bytes, problem: str) -> None:
    with pytest.raises(PackageError, match=problem):
        parse_manifest(raw)


def test_zip_with_manifest_is_extracted_with_folders(tmp_path: Path) -> None:
    manifest = {"kind": "command", "entry_point": "./bin/run.sh --fast"}
    job_dir = tmp_path / "job"
    package = make_zip(
        tmp_path / "p.zip",
        {"robofleet.json": json.dumps(manifest), "bin/run.sh": "#!/bin/sh\necho hi\n"},
        modes={"bin/run.sh": 0o755},
    )
    lay_out(package, "p.zip", job_dir)
    assert read_manifest(job_dir, "p.zip") == Manifest("command", "./bin/run.sh --fast")
    assert (job_dir / "bin" / "run.sh").read_text() == "#!/bin/sh\necho hi\n"
    if os.name != "nt":
        assert os.access(job_dir / "bin" / "run.sh", os.X_OK)


def test_main_py_is_inferred_with_its_requirements(tmp_path: Path) -> None:
    job = laid_out(tmp_path, {"main.py": "print(1)", "requirements.txt": "rich\n"})
    assert read_manifest(job, "p.zip") == Manifest("python", "main.py", "requirements.txt")


def test_robot_suites_are_inferred(tmp_path: Path) -> None:
    one = laid_out(tmp_path / "a", {"only.robot": "", "data/x.txt": ""})
    assert read_manifest(one, "p.zip") == Manifest("robotframework", "only.robot")
    two = laid_out(tmp_path / "b", {"a.robot": "", "b.robot": ""})
    assert read_manifest(two, "p.zip") == Manifest("robotframework", ".")


def test_a_zip_with_nothing_to_run_is_refused(tmp_path: Path) -> None:
    job = laid_out(tmp_path, {"readme.txt": "hi"})
    with pytest.raises(PackageError, match=r"no robofleet\.json"):
        read_manifest(job, "p.zip")


@pytest.mark.parametrize(
    ("file_name", "kind"), [("invoice.py", "python"), ("check.robot", "robotframework")]
)
def test_single_files_are_copied(tmp_path: Path, file_name: str, kind: str) -> None:
    source = tmp_path / "upload"
    source.write_text("content")
    job = tmp_path / "job"
    lay_out(source, file_name, job)
    assert (job / file_name).read_text() == "content"
    assert read_manifest(job, file_name) == Manifest(kind, file_name)


@pytest.mark.parametrize(
    "evil", ["../evil.py", "/abs/evil.py", "ok/../../evil.py", "..\\evil.py", "C:/evil.py"]
)
def test_zip_slip_is_refused(tmp_path: Path, evil: str) -> None:
    package = make_zip(tmp_path / "p.zip", {"main.py": "print(1)", evil: "pwned"})
    job = tmp_path / "deep" / "job"
    with pytest.raises(PackageError, match="unsafe path"):
        lay_out(package, "p.zip", job)
    assert not (tmp_path / "deep" / "evil.py").exists()
    assert not (tmp_path / "evil.py").exists()
    assert not job.exists() or not any(job.iterdir())  # refused before writing anything


def test_server_document_wins_over_the_manifest(tmp_path: Path) -> None:
    job = laid_out(
        tmp_path,
        {"robofleet.json": '{"kind": "python", "entry_point": "a.py"}', "a.py": "", "b.py": ""},
    )
    assert resolve_manifest({"FileName": "p.zip"}, job) == Manifest("python", "a.py")
    doc = {"FileName": "p.zip", "Kind": "python", "EntryPoint": "b.py", "Requirements": ""}
    assert resolve_manifest(doc, job) == Manifest("python", "b.py")
    with pytest.raises(PackageError, match="outside the package"):
        resolve_manifest({**doc, "EntryPoint": "../b.py"}, job)
    with pytest.raises(PackageError, match="not in the package"):
        resolve_manifest({**doc, "EntryPoint": "c.py"}, job)


def test_cache_refuses_a_hash_mismatch(tmp_path: Path) -> None:
    source = tmp_path / "main.py"
    source.write_bytes(b"print('hi')\n")
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumMismatch):
        add_to_cache(source, cache, sha(b"something else"))
    assert not cached_package(cache, sha(b"something else")).exists()
    assert list((cache / "packages").iterdir()) == []  # no temp file left behind
    stored = add_to_cache(source, cache, sha(source.read_bytes()))
    assert stored.read_bytes() == source.read_bytes()


def serving(content: bytes, announced: str) -> tuple[RobotClient, list[str]]:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, content=content, headers={"X-Sha256": announced})

    client = RobotClient("http://server", GUID, transport=httpx.MockTransport(handler))
    return client, calls


def test_download_verifies_the_hash_and_caches(tmp_path: Path) -> None:
    zip_bytes = io.BytesIO()
    with zipfile.ZipFile(zip_bytes, "w") as archive:
        archive.writestr("main.py", "print(1)")
    content = zip_bytes.getvalue()
    client, calls = serving(content, sha(content))
    path = fetch_package(client, tmp_path, "v1", sha(content), retry=0)
    assert path.read_bytes() == content
    path.write_bytes(b"corrupted on disk")  # the next use notices and fetches again
    assert fetch_package(client, tmp_path, "v1", sha(content), retry=0).read_bytes() == content
    fetch_package(client, tmp_path, "v1", sha(content), retry=0)
    assert calls == ["/api/processVersion/download/v1"] * 2


def test_download_refuses_bytes_that_do_not_match(tmp_path: Path) -> None:
    client, _ = serving(b"tampered", sha(b"tampered"))
    expected = sha(b"the real package")
    with pytest.raises(ChecksumMismatch):
        fetch_package(client, tmp_path, "v1", expected, retry=0)
    assert list((tmp_path / "packages").iterdir()) == []
