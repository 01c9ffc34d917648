"""The queue and e-mail conditions of a trigger, and the small value forms triggers share.

Each condition is one JSON document on the trigger (`queue_condition`, `mail_condition`),
stored with the snake_case keys below and every default filled in, so the engine reads one
complete shape. Requests may spell the keys in PascalCase or snake_case, send the object as
JSON text (as Sherpa's forms send nested values), and lists as `a,b` or `a;b` text; a key
that is not listed here is refused by name (422)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, WithJsonSchema

from robofleet.server.schemas.base import Flag, Ref, SherpaModel

NAME_LIMIT = 256
TEXT_ITEM_LIMIT = 1_000
LIST_LIMIT = 100

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION = re.compile(r"^(\d{1,5}):([0-5]\d)(?::([0-5]\d))?$")
DURATION_LIMIT = 366 * 24 * 3600
"""A job stopped after more than a year is a job never stopped: refuse the typo."""


def _clock(value: Any) -> Any:
    """`9:05` or `09:05` -> `09:05`; a clock time of the day, 00:00..23:59."""
    if value is None or not isinstance(value, str):
        return value
    text = value.strip()
    if text == "":
        return None
    match = _CLOCK.match(text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError("is not a time of day: use HH:MM, 00:00 to 23:59")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _duration(value: Any) -> Any:
    """`h:mm`, `h:mm:ss` or whole seconds -> seconds; 0 means none."""
    if value is None or isinstance(value, bool):
        return value
    seconds: int
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        text = value.strip()
        match = _DURATION.match(text)
        if match:
            hours, minutes, secs = match.groups()
            seconds = int(hours) * 3600 + int(minutes) * 60 + int(secs or 0)
        elif text.isascii() and text.isdigit():
            seconds = int(text)
        else:
            raise ValueError(
                "is not a duration: use h:mm (1:30), h:mm:ss or whole seconds (0: none)"
            )
    else:
        return value
    if not 0 <= seconds <= DURATION_LIMIT:
        raise ValueError(f"must lie between 0 and {DURATION_LIMIT} seconds (366 days)")
    return seconds or None


def _text_list(value: Any) -> Any:
    """Sherpa's forms separate substrings and masks with commas; `;` works too."""
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
    return value


def _canonical_word(value: Any) -> Any:
    """`In Progress`, `in_progress`, `INPROGRESS` -> `inprogress` for the lookups below."""
    return re.sub(r"[\s_\-]", "", value).lower() if isinstance(value, str) else value


_TAKE_STATUSES = {"new": "New", "inprogress": "InProgress"}
_ENCODINGS = {"utf8": "UTF-8", "usascii": "US-ASCII", "ascii": "US-ASCII"}


def _take_status(value: Any) -> Any:
    return _TAKE_STATUSES.get(_canonical_word(value), value) if isinstance(value, str) else value


def _encoding(value: Any) -> Any:
    return _ENCODINGS.get(_canonical_word(value), value) if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


ClockTime = Annotated[
    str | None,
    BeforeValidator(_clock),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "examples": ["08:00"]}),
]
Duration = Annotated[
    int | None,
    BeforeValidator(_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": DURATION_LIMIT},
                {"type": "string", "pattern": r"^\s*(\d{1,5}:[0-5]\d(:[0-5]\d)?|\d{1,8})\s*$"},
            ],
            "description": "h:mm (1:30), h:mm:ss or whole seconds; 0: none.",
        }
    ),
]
TextList = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=TEXT_ITEM_LIMIT)]],
    BeforeValidator(_text_list),
    Field(max_length=LIST_LIMIT),
]


class QueueCondition(SherpaModel):
    """Create jobs while the trigger's queue (`QueueId`) holds more than MinNewTasks New
    tasks (with all Tags), one more job per TasksPerJob tasks, up to MaxRunningRobots."""

    min_new_tasks: int = Field(0, ge=0, le=1_000_000, description="Fire when New tasks > this.")
    tags: TextList = Field(default_factory=list, description="Only tasks having all these tags.")
    tasks_per_job: int = Field(1, ge=1, le=1_000_000, description="One more job per this many.")
    take_status: Annotated[Literal["New", "InProgress"], BeforeValidator(_take_status)] = Field(
        "InProgress",
        description="The default task given to a created job: left New, or taken In Progress.",
    )
    finish_when_empty: Flag = Field(False, description="Status 2 Completed on an empty queue.")
    default_task: Flag = Field(True, description="Created jobs get a default task from the queue.")


class MailCondition(SherpaModel):
    """Create jobs for matching mails of a mailbox; each mail (or all of one check) becomes a
    task of `QueueId`, the created job's default task."""

    protocol: Annotated[Literal["imap", "pop3"], BeforeValidator(_lower)] = "imap"
    server: str = Field(min_length=1, max_length=NAME_LIMIT, examples=["imap.example.com"])
    port: int | None = Field(
        None, ge=1, le=65535, description="Omitted: 993/143 (IMAP), 995/110 (POP3) by Ssl."
    )
    ssl: Flag = True
    credential_id: Ref = Field(
        validation_alias=AliasChoices(
            "CredentialId", "credential_id", "credential", "credential_guid"
        ),
        description="A Credentials resource (Type 1): Text is the login.",
    )
    shared_mailbox: str | None = Field(None, max_length=NAME_LIMIT)
    folder: str = Field("INBOX", min_length=1, max_length=NAME_LIMIT)
    encoding: Annotated[Literal["UTF-8", "US-ASCII"], BeforeValidator(_encoding)] = "UTF-8"
    unread_only: Flag = True
    mark_read: Flag = True
    one_job_per_mail: Flag = True
    subject_contains: TextList = Field(default_factory=list)
    body_contains: TextList = Field(default_factory=list)
    attachment_masks: TextList = Field(
        default_factory=list, description="Attachment name masks with * and ?."
    )
    min_mails: int = Field(0, ge=0, le=1_000_000, description="Fire when matching mails > this.")
    check_minutes: int = Field(10, ge=1, le=1440)
    queue_id: Ref = Field(
        validation_alias=AliasChoices("QueueId", "queue_id", "queue", "queue_guid"),
        description="The queue that receives the mails as tasks.",
    )


def default_port(protocol: str, ssl: bool) -> int:
    if protocol == "pop3":
        return 995 if ssl else 110
    return 993 if ssl else 143
