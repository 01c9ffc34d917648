"""The runner with real child processes: output, exit codes, stop, abort, the SDK's files."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from robofleet.robot.runner import JobRunner, JobSpec
from tests.acceptance.robot.conftest import Collector, gone

MakeSpec = Callable[..., JobSpec]


def run(spec: JobSpec) -> tuple[JobRunner, Collector]:
    sink = Collector()
    runner = JobRunner(spec, sink)
    runner.start()
    return runner, sink


def test_exit_zero_captures_stdout_as_info_and_stderr_as_error(make_spec: MakeSpec) -> None:
    runner, sink = run(
        make_spec(
            """
            import sys
            print("to stdout")
            print("to stderr", file=sys.stderr)
            print("caf\\u00e9 \\u2713")
            """
        )
    )
    result = runner.finish()
    assert result.exit_code == 0
    assert not result.stop_requested and not result.aborted
    assert sink.messages("Info") == ["to stdout", "café ✓"]
    assert sink.messages("Error") == ["to stderr"]
    assert result.last_error == "to stderr"


def test_exit_one_reports_code_and_last_error_line(make_spec: MakeSpec) -> None:
    runner, sink = run(make_spec("print('working')\nraise ValueError('invoice 42 is broken')\n"))
    result = runner.finish()
    assert result.exit_code == 1
    assert result.last_error == "ValueError: invoice 42 is broken"
    assert "Traceback (most recent call last):" in sink.messages("Error")
    assert sink.messages("Info") == ["working"]


def test_abort_kills_the_child_and_its_grandchild(make_spec: MakeSpec) -> None:
    runner, sink = run(
        make_spec(
            """
            import subprocess, sys, time
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            print("grandchild", child.pid, flush=True)
            time.sleep(60)
            """
        )
    )
    line = sink.wait_for(lambda m: m.startswith("grandchild "))
    grandchild = int(line.split()[1])
    started = time.monotonic()
    runner.abort()
    result = runner.finish()
    assert time.monotonic() - started < 10
    assert result.aborted and not result.stop_requested
    assert result.exit_code != 0
    assert gone(runner.pid)
    assert gone(grandchild)


def test_processes_left_behind_by_a_finished_job_are_killed(make_spec: MakeSpec) -> None:
    # The leftover also holds the job's stdout: without the kill the output would never end.
    runner, sink = run(
        make_spec(
            """
            import subprocess, sys
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            print("left", child.pid, flush=True)
            """
        )
    )
    started = time.monotonic()
    result = runner.finish()
    assert time.monotonic() - started < 10
    assert result.exit_code == 0
    left = int(sink.wait_for(lambda m: m.startswith("left ")).split()[1])
    # The kill was sent before finish() returned; a loaded kernel may take a moment to reap.
    deadline = time.monotonic() + 5
    while not gone(left) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(left)


def test_request_stop_lets_a_script_that_checks_should_stop_finish(make_spec: MakeSpec) -> None:
    runner, sink = run(
        make_spec(
            """
            import signal, time
            from robofleet import sdk
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # rely on the stop file alone
            print("ready", flush=True)
            while not sdk.should_stop():
                time.sleep(0.05)
            sdk.set_return_value("stopped cleanly")
            print("clean stop")
            """,
            stop_grace=30.0,
        )
    )
    sink.wait_for(lambda m: m == "ready")
    started = time.monotonic()
    runner.request_stop()
    result = runner.finish()
    assert time.monotonic() - started < 10
    assert result.stop_requested and not result.aborted
    assert result.exit_code == 0
    assert result.return_value == "stopped cleanly"
    assert "clean stop" in sink.messages("Info")


def test_request_stop_interrupts_before_the_stop_file_appears(make_spec: MakeSpec) -> None:
    # A script that leaves its try as soon as it sees the stop file must not take the
    # interrupt after it, in code it meant to run on the way out.
    runner, sink = run(
        make_spec(
            """
            import os, time
            from robofleet import sdk
            stop = os.path.join(os.environ["ROBOFLEET_CONTROL_DIR"], "stop")
            print("ready", flush=True)
            try:
                while not os.path.exists(stop):
                    pass
                print("saw the file before the interrupt", flush=True)
            except KeyboardInterrupt:
                print(f"interrupted, should_stop={sdk.should_stop()}", flush=True)
            time.sleep(0.3)
            print("cleaned up", flush=True)
            """,
            stop_grace=30.0,
        )
    )
    sink.wait_for(lambda m: m == "ready")
    runner.request_stop()
    result = runner.finish()
    assert result.exit_code == 0
    assert "interrupted, should_stop=True" in sink.messages("Info")
    assert "cleaned up" in sink.messages("Info")


def test_request_stop_kills_a_script_that_ignores_it_after_the_grace(make_spec: MakeSpec) -> None:
    runner, sink = run(
        make_spec(
            """
            import time
            print("ready", flush=True)
            while True:
                try:
                    time.sleep(60)
                except KeyboardInterrupt:
                    print("ignoring the interrupt", flush=True)
            """,
            stop_grace=1.0,
        )
    )
    sink.wait_for(lambda m: m == "ready")
    started = time.monotonic()
    runner.request_stop()
    result = runner.finish()
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 10
    assert result.stop_requested
    assert result.exit_code != 0
    assert "ignoring the interrupt" in sink.messages("Info")
    assert any("killed" in m for m in sink.messages("Warning"))


def test_the_soft_stop_reaches_a_job_of_an_agent_that_ignores_the_interrupt(
    make_spec: MakeSpec,
) -> None:
    """An agent started in the background by a script (`agent &`) ignores SIGINT, and a child
    inherits that: its job must still get the soft stop's interrupt."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        runner, sink = run(
            make_spec(
                """
                import time
                try:
                    print("ready", flush=True)
                    time.sleep(60)
                except KeyboardInterrupt:
                    print("interrupted", flush=True)
                """,
                stop_grace=30.0,
            )
        )
        sink.wait_for(lambda m: m == "ready")
        runner.request_stop()
        result = runner.finish()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.stop_requested
    assert "interrupted" in sink.messages("Info")
    assert result.exit_code == 0  # it ended on the interrupt, not by the kill after the grace


def test_sdk_log_progress_and_return_value_reach_the_runner(
    make_spec: MakeSpec, sdk_dir: Path
) -> None:
    spec = make_spec(
        """
        import threading
        import robofleet.sdk
        from robofleet import sdk

        def many(n):
            for i in range(50):
                sdk.log("Debug", f"thread {n} line {i}")

        threads = [threading.Thread(target=many, args=(n,)) for n in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        sdk.log("Warning", "low disk", free_mb=12)
        sdk.set_progress(42)
        sdk.set_return_value({
            "params": sdk.parameters(),
            "month": sdk.parameter("month"),
            "missing": sdk.parameter("nope", "dflt"),
            "task": sdk.default_task(),
            "job": sdk.job_guid(),
            "sdk_file": robofleet.sdk.__file__,
        })
        """,
        parameters={"month": "2026-10", "count": 3},
        default_task='{"Queue": "invoices"}',
    )
    runner, sink = run(spec)
    result = runner.finish()
    assert result.exit_code == 0, sink.messages()
    assert runner.progress() == 42
    value = result.return_value
    assert value["params"] == {"month": "2026-10", "count": 3}
    assert (value["month"], value["missing"]) == ("2026-10", "dflt")
    assert value["task"] == {"Queue": "invoices"}
    assert value["job"] == spec.job_guid
    assert Path(value["sdk_file"]).is_relative_to(sdk_dir)  # the copy, not the agent's own
    assert len(sink.messages("Debug")) == 200
    warning = next(line for line in sink.lines if line.level == "Warning")
    assert (warning.message, warning.fields) == ("low disk", {"free_mb": 12})


def test_command_kind_gets_parameters_as_environment_variables(make_spec: MakeSpec) -> None:
    spec = make_spec(
        kind="command",
        entry_point=(
            "python -c \"import os; print(os.environ['ROBOFLEET_PARAM_MONTH'], "
            "os.environ['ROBOFLEET_PARAM_INVOICE_ID'], os.environ['ROBOFLEET_JOB_GUID'])\""
        ),
        parameters={"month": "2026-10", "invoice-id": 7},
    )
    runner, sink = run(spec)
    result = runner.finish()
    assert result.exit_code == 0, sink.messages()
    assert sink.messages("Info") == [f"2026-10 7 {spec.job_guid}"]


def test_module_entry_point_runs_with_dash_m(make_spec: MakeSpec) -> None:
    spec = make_spec(kind="python", entry_point="module:invoices.run")
    package = spec.job_dir / "invoices"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "run.py").write_text("print('module', __name__)\n")
    runner, sink = run(spec)
    assert runner.finish().exit_code == 0
    assert sink.messages("Info") == ["module __main__"]


def test_robot_framework_suite_gives_log_lines_and_a_return_value(make_spec: MakeSpec) -> None:
    spec = make_spec(kind="robotframework", entry_point="suite.robot", parameters={"WHO": "you"})
    (spec.job_dir / "suite.robot").write_text(
        "*** Test Cases ***\nGreets\n    Log    hello ${WHO}\nBreaks\n    Fail    boom\n"
    )
    runner, sink = run(spec)
    result = runner.finish()
    assert result.exit_code == 1
    assert result.return_value["passed"] == 1 and result.return_value["failed"] == 1
    assert result.tests_failed == 1
    assert result.summary == "1 of 2 tests failed (Breaks: boom)"
    assert "hello you" in sink.messages("Info")
    assert "FAIL Breaks: boom" in sink.messages("Error")
