"""Parsing a real output.xml written by Robot Framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from robofleet.robot.robot_framework import parse_output

SUITE = """\
*** Test Cases ***
Logs In
    Log    logged in as ${USER}
    Log    slow network    WARN
Posts Invoice
    Log    posting
    Fail    invoice 42 rejected
Archives
    Skip    archive is read-only
"""


def run_suite(tmp_path: Path) -> Path:
    (tmp_path / "invoices.robot").write_text(SUITE)
    out = tmp_path / "out"
    subprocess.run(
        [
            *(sys.executable, "-m", "robot", "--outputdir", str(out)),
            *("--variable", "USER:ann", "--report", "NONE", "--log", "NONE", "invoices.robot"),
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    return out / "output.xml"


def test_output_xml_becomes_lines_and_a_return_value(tmp_path: Path) -> None:
    run = parse_output(run_suite(tmp_path))
    assert run.return_value == {
        "passed": 1,
        "failed": 1,
        "skipped": 1,
        "tests": [
            {"name": "Logs In", "status": "PASS", "message": ""},
            {"name": "Posts Invoice", "status": "FAIL", "message": "invoice 42 rejected"},
            {"name": "Archives", "status": "SKIP", "message": "archive is read-only"},
        ],
    }
    lines = [(line.level, line.message) for line in run.lines]
    assert ("Info", "PASS Logs In") in lines
    assert ("Error", "FAIL Posts Invoice: invoice 42 rejected") in lines
    assert ("Warning", "SKIP Archives") in lines
    # The tests' own messages, levels mapped, in order before each verdict.
    assert lines.index(("Info", "logged in as ann")) < lines.index(("Info", "PASS Logs In"))
    assert ("Warning", "slow network") in lines
    assert ("Error", "invoice 42 rejected") in lines
    assert lines.count(("Warning", "slow network")) == 1  # not repeated from <errors>
    verdict = next(line for line in run.lines if line.message == "PASS Logs In")
    assert verdict.fields == {"test": "Logs In", "status": "PASS"}
    assert run.summary() == "1 of 3 tests failed (Posts Invoice: invoice 42 rejected)"


def test_execution_errors_outside_tests_are_kept(tmp_path: Path) -> None:
    (tmp_path / "broken.robot").write_text(
        "*** Settings ***\nLibrary    NoSuchLibraryAnywhere\n\n"
        "*** Test Cases ***\nT\n    No Operation\n"
    )
    subprocess.run(
        [sys.executable, "-m", "robot", "--outputdir", "out", "broken.robot"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    run = parse_output(tmp_path / "out" / "output.xml")
    errors = [line.message for line in run.lines if line.level == "Error"]
    assert any("NoSuchLibraryAnywhere" in message for message in errors)
    assert run.return_value["passed"] == 1
