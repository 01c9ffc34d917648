"""A trigger's e-mail condition: its settings read from the stored JSON, and the pure rules
over mails (which mail matches, how mails group into jobs, the keys that make each mail and
each fire happen once). No network here: services.triggers.mailbox reads the mailbox.

Matching, as a user of Sherpa's form would expect it (Sherpa lists substrings comma-separated):
- within one list the entries are alternatives: a subject matches when it contains ANY of the
  subject substrings; the same for the body and for attachment name masks;
- the lists combine with AND: with subject and body substrings both given, a mail needs one of
  each; with masks given, it also needs an attachment whose name matches one of them;
- comparisons ignore case; an empty list accepts every mail.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from robofleet.server.domain.errors import InvalidInput

FIELD = "MailCondition"
PROTOCOLS = ("imap", "pop3")
ENCODINGS = ("UTF-8", "US-ASCII")
DEFAULT_PORTS = {
    ("imap", False): 143,
    ("imap", True): 993,
    ("pop3", False): 110,
    ("pop3", True): 995,
}
FIRE_KEY_LENGTH = 64


@dataclass(frozen=True)
class MailCondition:
    """The `mail_condition` JSON of a trigger, with its defaults filled in (the API's
    defaults: IMAP over SSL, unread only, mark read, one job per mail)."""

    server: str
    credential_id: int
    queue_id: int
    protocol: str = "imap"
    port: int = 993
    ssl: bool = True
    shared_mailbox: str | None = None
    folder: str = "INBOX"
    encoding: str = "UTF-8"
    unread_only: bool = True
    mark_read: bool = True
    one_job_per_mail: bool = True
    subject_contains: tuple[str, ...] = ()
    body_contains: tuple[str, ...] = ()
    attachment_masks: tuple[str, ...] = ()
    min_mails: int = 0
    check_minutes: float | None = None
    """None: the server's default (settings.mail_check_interval_minutes)."""


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Mail:
    """One mail as the trigger sees it: parsed, and `ref`, the server's handle to mark it
    read (an IMAP UID; a POP3 UIDL)."""

    ref: str
    message_id: str
    sender: str
    to: str
    subject: str
    date: str
    body: str
    attachments: tuple[Attachment, ...] = field(default=())

    @property
    def key(self) -> str:
        return mail_key(self.message_id)


def _bad(key: str, problem: str) -> InvalidInput:
    return InvalidInput.for_field(f"{FIELD}.{key}", problem)


def _text(raw: Mapping[str, Any], key: str, *, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise _bad(key, "is required: a non-empty text")
    return value.strip()


def _flag(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _bad(key, "must be true or false")


def _int(raw: Mapping[str, Any], key: str, default: int | None, *, low: int, high: int) -> int:
    value = raw.get(key, default)
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        raise _bad(key, f"must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise _bad(key, f"must be from {low} to {high}, not {value}")
    return value


def _words(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """A list of texts, or Sherpa's comma-separated text; blanks dropped."""
    value = raw.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(key, "must be a list of texts or comma-separated text")
    return tuple(item.strip() for item in value if item.strip())


def _minutes(raw: Mapping[str, Any]) -> float | None:
    value = raw.get("check_minutes")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1440:
        raise _bad("check_minutes", "must be a number of minutes above 0 and at most 1440")
    return float(value)


def parse_mail_condition(raw: Mapping[str, Any]) -> MailCondition:
    """The condition from its stored (snake_case) JSON; InvalidInput naming the key when a
    value cannot be used, so the API can check a condition before storing it."""
    protocol = str(raw.get("protocol") or "imap").lower()
    if protocol not in PROTOCOLS:
        raise _bad("protocol", f"must be imap or pop3, not {protocol!r}")
    ssl = _flag(raw, "ssl", True)
    encoding = str(raw.get("encoding") or "UTF-8").upper()
    if encoding not in ENCODINGS:
        raise _bad("encoding", "must be UTF-8 or US-ASCII")
    shared = raw.get("shared_mailbox")
    if shared is not None and not isinstance(shared, str):
        raise _bad("shared_mailbox", "must be text")
    return MailCondition(
        protocol=protocol,
        server=_text(raw, "server"),
        port=_int(raw, "port", DEFAULT_PORTS[(protocol, ssl)], low=1, high=65535),
        ssl=ssl,
        credential_id=_int(raw, "credential_id", None, low=1, high=2**63 - 1),
        queue_id=_int(raw, "queue_id", None, low=1, high=2**63 - 1),
        shared_mailbox=shared.strip() or None if isinstance(shared, str) else None,
        folder=_text(raw, "folder", default="INBOX"),
        encoding=encoding,
        unread_only=_flag(raw, "unread_only", True),
        mark_read=_flag(raw, "mark_read", True),
        one_job_per_mail=_flag(raw, "one_job_per_mail", True),
        subject_contains=_words(raw, "subject_contains"),
        body_contains=_words(raw, "body_contains"),
        attachment_masks=_words(raw, "attachment_masks"),
        min_mails=_int(raw, "min_mails", 0, low=0, high=1_000_000),
        check_minutes=_minutes(raw),
    )


def mask_pattern(mask: str) -> re.Pattern[str]:
    """A name mask as a regular expression: `*` any run of characters, `?` exactly one,
    everything else literal (so `[` or `.` in a mask mean themselves, unlike fnmatch)."""
    parts = ("." if char == "?" else ".*" if char == "*" else re.escape(char) for char in mask)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _contains_any(text: str, needles: Sequence[str]) -> bool:
    folded = text.casefold()
    return not needles or any(needle.casefold() in folded for needle in needles)


def matches(condition: MailCondition, mail: Mail) -> bool:
    """Whether the mail passes the subject, body and attachment filters (see module doc)."""
    if not _contains_any(mail.subject, condition.subject_contains):
        return False
    if not _contains_any(mail.body, condition.body_contains):
        return False
    if not condition.attachment_masks:
        return True
    patterns = [mask_pattern(mask) for mask in condition.attachment_masks]
    return any(p.fullmatch(a.name) for a in mail.attachments for p in patterns)


def mail_key(message_id: str) -> str:
    """A mail's identity for the trigger: sha256 of its Message-ID."""
    return hashlib.sha256(message_id.strip().encode("utf-8")).hexdigest()


def fire_key(message_ids: Iterable[str]) -> str:
    """The fire of these mails: "mail:" + sha256 of the sorted Message-IDs, cut to fit."""
    joined = "\n".join(sorted(m.strip() for m in message_ids))
    return ("mail:" + hashlib.sha256(joined.encode("utf-8")).hexdigest())[:FIRE_KEY_LENGTH]


def batches(condition: MailCondition, mails: Sequence[Mail]) -> list[list[Mail]]:
    """The mails each job gets: one batch per mail, or one for all of them; none until more
    than `min_mails` mails match."""
    if len(mails) <= condition.min_mails:
        return []
    if condition.one_job_per_mail:
        return [[mail] for mail in mails]
    return [list(mails)]
