"""The wire contract (robofleet.contract): its level rule, its labels, that no side keeps a
hand-written copy of its facts, and that the server serves every path the clients call."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from robofleet import contract
from robofleet.contract import (
    API_KEY_VARIABLE,
    CLIENT_PATHS,
    PARAMETER_PREFIX,
    Api,
    ConsumeCode,
    ControlFile,
    HeartbeatCode,
    JobEnv,
    JobStatus,
    LogLevel,
    RobotStatus,
    TaskStatus,
    normalize_level,
)

SOURCE = Path(contract.__file__).parent

# --- normalize_level ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", list(LogLevel))
def test_every_level_is_known_by_its_name_in_any_case(level: LogLevel) -> None:
    for spelling in (level.value, level.value.lower(), level.value.upper(), f"  {level.value} "):
        assert normalize_level(spelling) is level


@pytest.mark.parametrize(
    ("alias", "level"),
    [
        ("trace", LogLevel.DEBUG),
        ("warn", LogLevel.WARNING),
        ("WARN", LogLevel.WARNING),
        ("err", LogLevel.ERROR),
        ("exception", LogLevel.ERROR),
        ("fatal", LogLevel.CRITICAL),
        ("debu", LogLevel.DEBUG),
        ("noti", LogLevel.NOTICE),
        ("erro", LogLevel.ERROR),
        ("Crit", LogLevel.CRITICAL),
    ],
)
def test_aliases_name_their_level(alias: str, level: LogLevel) -> None:
    assert normalize_level(alias) is level


def test_sherpa_codes_name_levels_in_sherpas_order() -> None:
    expected = ["Info", "Critical", "Error", "Warning", "Debug", "Notice"]
    assert [normalize_level(code) for code in range(1, 7)] == expected
    assert [normalize_level(str(code)) for code in range(1, 7)] == expected
    assert [level.code for level in LogLevel] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("value", ["Loud", "", "inf", "warning!", 0, 7, "7", "²", True, None, 2.0])
def test_unknown_levels_are_none_for_each_side_to_decide(value: object) -> None:
    assert normalize_level(value) is None


def test_each_side_keeps_its_rule_for_unknown_levels() -> None:
    from robofleet import sdk
    from robofleet.robot.logship import line_level
    from robofleet.server.schemas.logs import LogLine

    assert line_level("Loud") == "Info"  # the agent keeps the line
    assert line_level("trace") == "Debug"
    with pytest.raises(ValueError, match="log level must be one of Debug, Info"):
        sdk.log("Loud", "refused")  # the script's author fixes it
    with pytest.raises(ValueError, match="must be one of"):
        LogLine(level="Loud", message="refused")
    assert LogLine(level="crit", message="kept").level == "Critical"
    assert LogLine(level=3, message="kept").level == "Error"


# --- labels ------------------------------------------------------------------------------------


def test_job_labels() -> None:
    assert [(int(s), s.label) for s in JobStatus] == [
        (0, "Created"),
        (1, "Pending"),
        (2, "Aborting"),
        (3, "Aborted"),
        (4, "Success"),
        (5, "Failed"),
        (6, "Stopping"),
        (7, "Stopped"),
        (8, "In Progress"),
        (9, "Unknown"),
    ]


def test_task_labels() -> None:
    assert [(int(s), s.label) for s in TaskStatus] == [
        (0, "New"),
        (1, "In Progress"),
        (2, "Success"),
        (3, "Failed (Application)"),
        (4, "Failed (Business)"),
        (5, "Postponed"),
        (6, "Abandoned"),
    ]


def test_robot_labels() -> None:
    assert [(int(s), s.label) for s in RobotStatus] == [
        (0, "Disconnected"),
        (1, "Unlicensed"),
        (2, "Ready"),
        (3, "Working"),
    ]


def test_protocol_codes() -> None:
    assert {c.name: int(c) for c in HeartbeatCode} == {
        "OK": 0,
        "ABORT_REQUESTED": 10,
        "STOP_REQUESTED": 20,
        "ROBOT_NOT_FOUND": 101,
    }
    assert {c.name: int(c) for c in ConsumeCode} == {
        "JOB_GIVEN": 0,
        "ROBOT_NOT_FOUND": 101,
        "NO_NEW_JOB": 102,
    }


def test_every_member_says_what_it_means() -> None:
    source = (SOURCE / "contract.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in {
            "JobStatus",
            "TaskStatus",
            "RobotStatus",
        }:
            body = node.body
            for index, statement in enumerate(body):
                if isinstance(statement, ast.Assign):
                    following = body[index + 1] if index + 1 < len(body) else None
                    assert isinstance(following, ast.Expr), (node.name, statement.lineno)


def test_the_domain_still_exports_the_statuses() -> None:
    from robofleet.server.domain import jobs, robots, tasks

    assert jobs.JobStatus is JobStatus
    assert tasks.TaskStatus is TaskStatus
    assert robots.RobotStatus is RobotStatus


# --- the API paths -----------------------------------------------------------------------------


def test_every_client_path_has_its_name() -> None:
    named = {value for name, value in vars(Api).items() if name.isupper()}
    assert named == set(CLIENT_PATHS)
    assert len(CLIENT_PATHS) == len(set(CLIENT_PATHS))


@pytest.mark.filterwarnings("ignore:Duplicate Operation ID")  # routes with two methods
def test_the_server_serves_every_client_path(tmp_path: Path) -> None:
    from robofleet.server.app import create_app
    from robofleet.server.runtime_setup import build_runtime
    from robofleet.server.settings import Settings

    settings = Settings(data_dir=tmp_path, database_url=None, scheduler_enabled=False)
    runtime = build_runtime(settings)
    try:
        paths = set(create_app(settings, runtime).openapi()["paths"])
    finally:
        runtime.db.dispose()
    assert [path for path in CLIENT_PATHS if path not in paths] == []


# --- standard library only ---------------------------------------------------------------------


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize(
    "path",
    [SOURCE / "contract.py", SOURCE / "calendars.py", *sorted((SOURCE / "sdk").glob("*.py"))],
    ids=lambda p: p.name,
)
def test_the_contract_and_the_sdk_use_only_the_standard_library(path: Path) -> None:
    allowed = {"robofleet.contract"} if path.name != "calendars.py" else set()
    if path.parent.name == "sdk":
        allowed |= {"robofleet.sdk", "robofleet.calendars"}
    for module in _imports(path):
        top = module.partition(".")[0]
        mine = any(module == a or module.startswith(a + ".") for a in allowed)
        assert top in sys.stdlib_module_names or mine, f"{path.name} imports {module}"


# --- no hand-written copies --------------------------------------------------------------------

_STATUS_ENUMS = (JobStatus, TaskStatus, RobotStatus)
_CODE_ENUMS = (HeartbeatCode, ConsumeCode)
_MEMBER_NAMES = {m.name for e in (*_STATUS_ENUMS, *_CODE_ENUMS) for m in e}
_LABEL_SETS = [{m.label for m in e} for e in _STATUS_ENUMS]
_LEVELS = {level.value for level in LogLevel}
_JOB_ENV = {*(e.value for e in JobEnv), PARAMETER_PREFIX}
# Statuses are 0..9; HTTP statuses (100..599) are not the contract's.
_CODES = {int(m) for e in (*_STATUS_ENUMS, *_CODE_ENUMS) for m in e}
_CONTROL_FILES = {f.value for f in ControlFile}
_SQL_STATUS = re.compile(r"\bstatus\s*(=|!=|<>|<|>|\bin\b)\s*\(?\s*\d", re.IGNORECASE)
_CLIENTS = ("robot", "sdk", "cli")


def _sources(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative != "contract.py" and "/migrations/" not in f"/{relative}":
            yield path


def _identifier(node: ast.expr) -> str:
    """The name an expression ends in: `job.status` -> status, `job["Status"]` -> status."""
    if isinstance(node, ast.Name):
        return node.id.lower()
    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value).lower()
    return ""


def _speaks_of_codes(name: str) -> bool:
    """Job, task or robot status, or a protocol code (not an HTTP status)."""
    if name.endswith("status_code"):
        return False
    return "status" in name or name.endswith(("error_code", "errorcode"))


def _is_int(node: ast.AST | None) -> bool:
    """A number that is one of the contract's codes."""
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value in _CODES


def _ints(node: ast.expr) -> bool:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts) and all(_is_int(e) for e in node.elts)
    return _is_int(node)


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Dict):
        items = [*node.keys, *node.values]
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = list(node.elts)
    else:
        return []
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def _problems(tree: ast.Module, *, client: bool) -> Iterator[tuple[int, str]]:  # noqa: C901
    subscript_keys = {id(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.expr | ast.stmt | ast.keyword):
            continue
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_speaks_of_codes(_identifier(o)) for o in operands) and any(
                _ints(o) for o in operands
            ):
                yield node.lineno, "a status or protocol code compared with a number"
        elif isinstance(node, ast.keyword) and node.arg and _is_int(node.value):
            if _speaks_of_codes(node.arg.lower()):
                yield node.value.lineno, f"{node.arg}= given as a number"
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                named = isinstance(key, ast.Constant) and _speaks_of_codes(str(key.value).lower())
                if named and _is_int(value):
                    yield value.lineno, "a status or protocol code given as a number"
        elif isinstance(node, ast.Assign) and _ints(node.value):
            targets = [
                e for t in node.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])
            ]
            if any(isinstance(t, ast.Name) and t.id in _MEMBER_NAMES for t in targets):
                yield node.lineno, "a status or protocol code named by hand"
        elif isinstance(node, ast.Call):
            callee = _identifier(node.func)
            if callee == "get" and len(node.args) == 2 and _is_int(node.args[1]):
                key = node.args[0]
                if isinstance(key, ast.Constant) and _speaks_of_codes(str(key.value).lower()):
                    yield node.lineno, "a status or protocol code defaulted to a number"
            sql = node.args[0] if callee == "text" and node.args else None
            if isinstance(sql, ast.Constant) and _SQL_STATUS.search(str(sql.value)):
                yield node.lineno, "a status number written into SQL"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            right = node.right
            if isinstance(right, ast.Constant) and right.value in _CONTROL_FILES:
                yield node.lineno, f"control file {right.value!r} spelled by hand"
        elif isinstance(node, ast.JoinedStr) and client and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and str(first.value).startswith("/api/"):
                yield node.lineno, "an API path spelled by hand"
        strings = _strings(node)
        if sum(s in _LEVELS for s in strings) >= 2:
            yield node.lineno, "log levels listed by hand"
        if any(sum(s in labels for s in strings) >= 2 for labels in _LABEL_SETS):
            yield node.lineno, "status labels listed by hand"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text in _JOB_ENV or (client and text == API_KEY_VARIABLE):
                yield node.lineno, f"environment variable {text} spelled by hand"
            elif text in {ControlFile.LOG.value, ControlFile.RETURN_VALUE.value}:
                yield node.lineno, f"control file {text!r} spelled by hand"
            elif text in _LEVELS and id(node) not in subscript_keys:
                yield node.lineno, f"log level {text!r} spelled by hand"
            elif client and text.startswith("/api/"):
                yield node.lineno, "an API path spelled by hand"


def hand_written_copies(root: Path) -> list[str]:
    """Every place under `root` (a copy of src/robofleet) that writes a fact of the contract
    by hand instead of importing it."""
    found: list[str] = []
    for path in _sources(root):
        relative = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        client = relative.startswith(_CLIENTS)
        found += [f"{relative}:{line}: {what}" for line, what in _problems(tree, client=client)]
    return sorted(set(found))


def test_no_fact_of_the_contract_is_written_by_hand() -> None:
    assert hand_written_copies(SOURCE) == []


def test_the_search_finds_the_copies_it_is_meant_to_find(tmp_path: Path) -> None:
    samples = {
        "cli/a.py": 'FINAL = {3: "Aborted", 4: "Success"}\nx = f"/api/job/read/{guid}"\n',
        "robot/b.py": "READY, WORKING = 2, 3\nif job.status in (0, 1): pass\n",
        "robot/c.py": 'env = {"ROBOFLEET_JOB_GUID": guid}\nLEVELS = ("Debug", "Info")\n',
        "sdk/d.py": 'p = control / "stop"\nlog("Warning", "x")\ncall("POST", "/api/task/take")\n',
        "server/e.py": 'i = Index("i", sqlite_where=text("status = 0"))\nr(status=4)\n',
        "server/f.py": 'code = data.get("HeartbeatErrorCode", 0)\nok = reply.error_code == 20\n',
        "server/g.py": '_ALIASES = {"warn": "Warning", "fatal": "Critical"}\nn = "log.jsonl"\n',
        "cli/h.py": 'key = os.environ["ROBOFLEET_API_KEY"]\n',
    }
    clean = {
        "server/ok.py": (
            "if response.status_code == 404: pass\nif result.exit_code == 0: pass\n"
            'body["Error"] = error\ncommand = "stop"\nwhere = "status=0/tags=+a"\n'
            '"""`status = 0` in a docstring."""\nif status < 400: pass\n'
            'send({"status": 413})\nsecret = {"ROBOFLEET_API_KEY"}  # the server setting\n'
            'RF = {"TRACE": LogLevel.DEBUG, "WARN": LogLevel.WARNING}\nif code != 0: pass\n'
        ),
    }
    for relative, text in {**samples, **clean}.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    found = hand_written_copies(tmp_path)
    assert not [f for f in found if f.startswith("server/ok.py")], found
    for relative, text in samples.items():
        lines = {f.split(":")[1] for f in found if f.startswith(relative + ":")}
        assert lines == {str(n) for n in range(1, text.count("\n") + 1)}, (relative, found)
