"""The wire contract: every fact the server, the robot agent, the SDK and the CLI share.

Status codes, robot-protocol codes, log levels, the environment a job runs in, the files of its
control folder and the API paths the clients call are written here once; every side imports
them from here (docs/robot-protocol.md). Standard library only, importing nothing of Robofleet:
the agent copies this module, with the SDK, into every job's environment.
"""

from __future__ import annotations

import base64
from enum import IntEnum, StrEnum
from typing import Final, Literal, get_args

# --- Statuses (Sherpa's codes) ---------------------------------------------------------------


class JobStatus(IntEnum):
    CREATED = 0
    """Created, not yet queued for a robot (transient)."""
    PENDING = 1
    """Waiting for a robot, or taken by one that has not started it yet."""
    ABORTING = 2
    """An operator asked for a hard abort; the robot is to kill the job."""
    ABORTED = 3
    """Killed by its robot. Final."""
    SUCCESS = 4
    """Ended well. Final."""
    FAILED = 5
    """Ended badly, or its outcome was lost. Final."""
    STOPPING = 6
    """An operator asked for a soft stop; the job is to finish its current item and end."""
    STOPPED = 7
    """Ended after a soft stop. Final."""
    IN_PROGRESS = 8
    """Started by its robot."""
    UNKNOWN = 9
    """Not in Sherpa's published table: its robot went silent. Sherpa documents the status
    without a number; 9 is the next free code."""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").title()


FINAL_JOB_STATUSES: Final = frozenset(
    {JobStatus.ABORTED, JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.STOPPED}
)
"""A job in one of these has ended: nothing changes its status any more."""


class TaskStatus(IntEnum):
    NEW = 0
    """Waiting in its queue to be taken."""
    IN_PROGRESS = 1
    """Taken, with a lease held by its taker."""
    SUCCESS = 2
    """Processed."""
    FAILED_APPLICATION = 3
    """Failed for a technical reason: a retry may help."""
    FAILED_BUSINESS = 4
    """Failed because its data breaks a business rule: a retry will not help."""
    POSTPONED = 5
    """Put aside until a time; it becomes New again then."""
    ABANDONED = 6
    """Given up: a lease ran out too often, or an operator abandoned it."""

    @property
    def label(self) -> str:
        return _TASK_LABELS[self]


_TASK_LABELS: Final = {
    TaskStatus.NEW: "New",
    TaskStatus.IN_PROGRESS: "In Progress",
    TaskStatus.SUCCESS: "Success",
    TaskStatus.FAILED_APPLICATION: "Failed (Application)",
    TaskStatus.FAILED_BUSINESS: "Failed (Business)",
    TaskStatus.POSTPONED: "Postponed",
    TaskStatus.ABANDONED: "Abandoned",
}


class RobotStatus(IntEnum):
    DISCONNECTED = 0
    """Not heard of for a while (or never)."""
    UNLICENSED = 1
    """Known but not allowed to take work."""
    READY = 2
    """Idle and calling in."""
    WORKING = 3
    """Running a job."""

    @property
    def label(self) -> str:
        return self.name.title()


class TriggerStatus(IntEnum):
    """A trigger's (Sherpa's schedule's) Status."""

    DISABLED = 0
    ENABLED = 1
    COMPLETED = 2
    """Finished by its queue condition on an empty queue; fires no more until enabled."""

    @property
    def label(self) -> str:
        return self.name.capitalize()


# --- Robot protocol codes ----------------------------------------------------------------------


class HeartbeatCode(IntEnum):
    """`HeartbeatErrorCode` of /api/robot/heartbeat."""

    OK = 0
    """No error."""
    ABORT_REQUESTED = 10
    """Kill the job named in `JobGUID` now."""
    STOP_REQUESTED = 20
    """Finish the job named in `JobGUID` gracefully."""
    ROBOT_NOT_FOUND = 101
    """No robot has this GUID."""


class ConsumeCode(IntEnum):
    """`ConsumeJobErrorCode` of /api/robot/consumeNextJob (and waitJob)."""

    JOB_GIVEN = 0
    """A job is returned."""
    ROBOT_NOT_FOUND = 101
    """No robot has this GUID."""
    NO_NEW_JOB = 102
    """No job for this robot now."""


STOP_COMMAND: Final = "stop"
"""The heartbeat's `Command` for a robot an operator switched off: take no jobs."""


# --- Log levels --------------------------------------------------------------------------------


class LogLevel(StrEnum):
    """Log levels as the wire spells them, in Sherpa's order: its codes 1..6 follow it."""

    INFO = "Info"
    CRITICAL = "Critical"
    ERROR = "Error"
    WARNING = "Warning"
    DEBUG = "Debug"
    NOTICE = "Notice"

    @property
    def code(self) -> int:
        """Sherpa's number for the level (1 Info ... 6 Notice)."""
        return _LEVEL_CODES[self]


_LEVEL_CODES: Final = {level: number for number, level in enumerate(LogLevel, start=1)}
_LEVEL_BY_CODE: Final = {number: level for level, number in _LEVEL_CODES.items()}

LEVELS_BY_SEVERITY: Final = (
    LogLevel.DEBUG,
    LogLevel.INFO,
    LogLevel.NOTICE,
    LogLevel.WARNING,
    LogLevel.ERROR,
    LogLevel.CRITICAL,
)

_LEVEL_SPELLINGS: Final[dict[str, LogLevel]] = {
    **{level.value.lower(): level for level in LogLevel},
    # What other logging vocabularies write (Python's, syslog's, loguru's).
    "trace": LogLevel.DEBUG,
    "warn": LogLevel.WARNING,
    "err": LogLevel.ERROR,
    "exception": LogLevel.ERROR,
    "fatal": LogLevel.CRITICAL,
    # Sherpa robots send the first four letters.
    "debu": LogLevel.DEBUG,
    "noti": LogLevel.NOTICE,
    "erro": LogLevel.ERROR,
    "crit": LogLevel.CRITICAL,
}


def normalize_level(value: object) -> LogLevel | None:
    """The level `value` names: a level's name or an alias in any case, or Sherpa's code
    (1..6, as a number or digits). None for anything else: each side decides what an unknown
    level means (the agent logs it as Info, the SDK and the server refuse it)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip().lower()
    if text.isdecimal():
        return _LEVEL_BY_CODE.get(int(text))
    return _LEVEL_SPELLINGS.get(text)


# --- A job's environment and control folder ----------------------------------------------------


class JobEnv(StrEnum):
    """Environment variables the agent sets for each job; the SDK reads them."""

    SERVER = "ROBOFLEET_SERVER"
    """The server's URL, or several nodes' URLs separated by commas (server_urls): the
    agent and the SDK use the first that answers and move on when a node fails."""
    ROBOT_GUID = "ROBOFLEET_ROBOT_GUID"
    """The robot's GUID: the job's credentials."""
    ROBOT_SECRET = "ROBOFLEET_ROBOT_SECRET"  # noqa: S105 - a variable's name
    """The robot's secret, when it has one: sent with the GUID (robot_authorization). The
    agent reads its own from this variable too."""
    JOB_GUID = "ROBOFLEET_JOB_GUID"
    PROCESS_VERSION_GUID = "ROBOFLEET_PROCESS_VERSION_GUID"
    JOB_PARAMETERS = "ROBOFLEET_JOB_PARAMETERS"
    """The job's parameters, a JSON object."""
    DEFAULT_TASK = "ROBOFLEET_DEFAULT_TASK"
    """The job's default task, a JSON object, or empty."""
    CONTROL_DIR = "ROBOFLEET_CONTROL_DIR"
    """The folder of ControlFile files the job shares with the agent."""


FAILOVER_STATUSES: Final = frozenset({502, 503, 504})
"""Answers of a load balancer or proxy whose node is gone or overloaded: the agent and the
SDK try the next server of their list, as on a connection error."""


def server_urls(value: str) -> list[str]:
    """The URLs of ROBOFLEET_SERVER: one, or several separated by commas (nodes of one
    orchestrator), each http:// or https://, trailing slashes dropped. ValueError names the
    first bad one."""
    example = "an http:// or https:// URL such as http://127.0.0.1:8000"
    urls = [url for part in value.split(",") if (url := part.strip().rstrip("/"))]
    if not urls:
        raise ValueError(f"must be {example}")
    for url in urls:
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in {"http", "https"} or not rest or rest.startswith("/"):
            if len(urls) == 1:
                raise ValueError(f"must be {example}")
            raise ValueError(
                f"{url!r} is not {example} (several servers: URLs separated by commas)"
            )
    return list(dict.fromkeys(urls))


PARAMETER_PREFIX: Final = "ROBOFLEET_PARAM_"
"""`command` jobs also get each parameter as ROBOFLEET_PARAM_<NAME>."""

API_KEY_VARIABLE: Final = "ROBOFLEET_API_KEY"
"""Outside a robot, the SDK and the CLI authenticate with the API key in this variable."""

# --- Robocorp robots ---------------------------------------------------------------------------

ROBOCORP_JOB_KEY: Final = "Robocorp"
"""The object a robocorp job's `Job` document carries (consumeNextJob / waitJob)."""


class RobocorpField(StrEnum):
    """The fields of that object, all strings: what a Control Room worker hands a step run."""

    TOKEN = "Token"  # noqa: S105 - a field's name
    """The per-job bearer token for every Robocorp API family."""
    WORKSPACE_ID = "WorkspaceId"
    PROCESS_ID = "ProcessId"
    PROCESS_RUN_ID = "ProcessRunId"
    ACTIVITY_RUN_ID = "ActivityRunId"
    WORK_ITEM_ID = "WorkItemId"
    """The input work item reserved for the job; "" when it has no default task."""


ROBOCORP_API_PATH: Final = "/robocorp"
"""Where the server answers the Robocorp API subset (work items, process, secrets); storage
is under ROBOCORP_API_PATH + "/v1"."""

# --- Robot credentials -------------------------------------------------------------------------

ROBOT_SECRET_PREFIX: Final = "rfrs_"  # noqa: S105 - a marker, not a secret
"""Every robot secret starts with this, so `Basic base64(<robot GUID>:<secret>)` is never
mistaken for a user's `login:password` (docs/robot-protocol.md)."""


def robot_authorization(robot_guid: str, secret: str | None = None) -> str:
    """The `Authorization` header a robot sends: Sherpa's `Basic base64(<GUID>)`, or with a
    secret `Basic base64(<GUID>:<secret>)`."""
    credential = f"{robot_guid}:{secret}" if secret else robot_guid
    return "Basic " + base64.b64encode(credential.encode()).decode()


IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
"""Names a task add (task/create; task/bulkCreate names item i `<key>#<i>`): a retry with the
same key and the same request answers with the task the first attempt added, and adds none."""


class ControlFile(StrEnum):
    """The files of a job's control folder (JobEnv.CONTROL_DIR)."""

    LOG = "log.jsonl"
    """Written by the SDK: one JSON object per line (time, level, message, fields)."""
    PROGRESS = "progress"
    """Written by the SDK: the job's progress, 0 to 100, replaced whole."""
    RETURN_VALUE = "return_value.json"
    """Written by the SDK: the job's result as JSON, replaced whole."""
    STOP = "stop"
    """Created by the agent when a soft stop is requested."""


# --- Log screenshots ---------------------------------------------------------------------------

SCREENSHOT_MAX_BYTES: Final = 5 * 1024 * 1024
"""The largest screenshot the SDK attaches to a line (the server's default limit too:
ROBOFLEET_LOG_SCREENSHOT_MAX_BYTES)."""


def image_type(head: bytes) -> str | None:
    """The media type of an image starting with `head` (16 bytes suffice): PNG, JPEG, GIF,
    WebP or BMP, the formats a log line's screenshot may have; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"BM") and len(head) >= 14:
        return "image/bmp"
    return None


# --- API paths the clients call ----------------------------------------------------------------

ClientPath = Literal[
    "/api/asset/create",
    "/api/asset/list",
    "/api/asset/read/{guid}",
    "/api/asset/update",
    "/api/files/delete/{ref}",
    "/api/files/download/{ref}",
    "/api/files/list",
    "/api/files/upload",
    "/api/folders/create",
    "/api/folders/list",
    "/api/folders/read/{ref}",
    "/api/job/create",
    "/api/job/list",
    "/api/job/read/{guid}",
    "/api/job/update",
    "/api/log/create",
    "/api/log/list",
    "/api/log/batch",
    "/api/log/tail",
    "/api/process/create",
    "/api/process/read/{guid}",
    "/api/processVersion/create",
    "/api/processVersion/download/{guid}",
    "/api/queue/list",
    "/api/robot/consumeNextJob",
    "/api/robot/heartbeat",
    "/api/robot/read",
    "/api/robot/waitJob",
    "/api/schedule/create",
    "/api/schedule/delete/{guid}",
    "/api/schedule/disable/{guid}",
    "/api/schedule/enable/{guid}",
    "/api/schedule/history/{guid}",
    "/api/schedule/list",
    "/api/schedule/preview/{guid}",
    "/api/schedule/read/{guid}",
    "/api/schedule/test/{guid}",
    "/api/schedule/update",
    "/api/task/bulkCreate",
    "/api/task/create",
    "/api/task/filter/list/{queue}",
    "/api/task/finish",
    "/api/task/renew",
    "/api/task/take",
]
"""Every path the agent, the SDK and the CLI call, `{name}` marking a path parameter as in
the server's OpenAPI document (fill one in with str.format)."""

CLIENT_PATHS: Final[tuple[ClientPath, ...]] = get_args(ClientPath)


class Api:
    """ClientPath by name, for the clients to build their URLs from."""

    ASSET_CREATE: Final[ClientPath] = "/api/asset/create"
    ASSET_LIST: Final[ClientPath] = "/api/asset/list"
    ASSET_READ: Final[ClientPath] = "/api/asset/read/{guid}"
    ASSET_UPDATE: Final[ClientPath] = "/api/asset/update"
    FILES_DELETE: Final[ClientPath] = "/api/files/delete/{ref}"
    FILES_DOWNLOAD: Final[ClientPath] = "/api/files/download/{ref}"
    FILES_LIST: Final[ClientPath] = "/api/files/list"
    FILES_UPLOAD: Final[ClientPath] = "/api/files/upload"
    FOLDERS_CREATE: Final[ClientPath] = "/api/folders/create"
    FOLDERS_LIST: Final[ClientPath] = "/api/folders/list"
    FOLDERS_READ: Final[ClientPath] = "/api/folders/read/{ref}"
    JOB_CREATE: Final[ClientPath] = "/api/job/create"
    JOB_LIST: Final[ClientPath] = "/api/job/list"
    JOB_READ: Final[ClientPath] = "/api/job/read/{guid}"
    JOB_UPDATE: Final[ClientPath] = "/api/job/update"
    LOG_CREATE: Final[ClientPath] = "/api/log/create"
    LOG_LIST: Final[ClientPath] = "/api/log/list"
    LOG_BATCH: Final[ClientPath] = "/api/log/batch"
    LOG_TAIL: Final[ClientPath] = "/api/log/tail"
    PROCESS_CREATE: Final[ClientPath] = "/api/process/create"
    PROCESS_READ: Final[ClientPath] = "/api/process/read/{guid}"
    PROCESS_VERSION_CREATE: Final[ClientPath] = "/api/processVersion/create"
    PROCESS_VERSION_DOWNLOAD: Final[ClientPath] = "/api/processVersion/download/{guid}"
    QUEUE_LIST: Final[ClientPath] = "/api/queue/list"
    ROBOT_CONSUME_NEXT_JOB: Final[ClientPath] = "/api/robot/consumeNextJob"
    ROBOT_HEARTBEAT: Final[ClientPath] = "/api/robot/heartbeat"
    ROBOT_READ: Final[ClientPath] = "/api/robot/read"
    ROBOT_WAIT_JOB: Final[ClientPath] = "/api/robot/waitJob"
    SCHEDULE_CREATE: Final[ClientPath] = "/api/schedule/create"
    SCHEDULE_DELETE: Final[ClientPath] = "/api/schedule/delete/{guid}"
    SCHEDULE_DISABLE: Final[ClientPath] = "/api/schedule/disable/{guid}"
    SCHEDULE_ENABLE: Final[ClientPath] = "/api/schedule/enable/{guid}"
    SCHEDULE_HISTORY: Final[ClientPath] = "/api/schedule/history/{guid}"
    SCHEDULE_LIST: Final[ClientPath] = "/api/schedule/list"
    SCHEDULE_PREVIEW: Final[ClientPath] = "/api/schedule/preview/{guid}"
    SCHEDULE_READ: Final[ClientPath] = "/api/schedule/read/{guid}"
    SCHEDULE_TEST: Final[ClientPath] = "/api/schedule/test/{guid}"
    SCHEDULE_UPDATE: Final[ClientPath] = "/api/schedule/update"
    TASK_BULK_CREATE: Final[ClientPath] = "/api/task/bulkCreate"
    TASK_CREATE: Final[ClientPath] = "/api/task/create"
    TASK_FILTER_LIST: Final[ClientPath] = "/api/task/filter/list/{queue}"
    TASK_FINISH: Final[ClientPath] = "/api/task/finish"
    TASK_RENEW: Final[ClientPath] = "/api/task/renew"
    TASK_TAKE: Final[ClientPath] = "/api/task/take"
