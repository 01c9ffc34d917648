"""Reading a mailbox over IMAP or POP3 (the standard library's clients), and parsing mails
into what a trigger needs. Every socket operation has the timeout the caller gives, so a dead
server costs one check at most that long.

IMAP reads with BODY.PEEK (reading never marks a mail \\Seen: only `mark_read`, after the
job is committed, does). POP3 has no flags: "unread" there means "not yet taken by this
trigger", which the trigger remembers itself (services.triggers.mail); a POP3 mailbox is never
changed. Mails are read with TOP (headers only) first, so mails already taken are not
downloaded again.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import imaplib
import poplib
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from robofleet.server.domain.mail_conditions import Attachment, Mail, MailCondition

_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"(?P<sep>[^"]*)"|NIL) ')


class MailboxError(Exception):
    """The mailbox could not be read (connection, login, folder); the message says which."""


@dataclass(frozen=True)
class Login:
    user: str
    password: str


@dataclass
class Listing:
    new: list[Mail]
    """Mails the trigger has not taken yet, parsed."""
    taken: list[str]
    """Refs of mails it took before but that are still unread (a crash between the commit
    and marking them read): they are marked read now, without a second job."""


class Mailbox(Protocol):
    def mails(self, *, unread_only: bool, known: Callable[[str], bool]) -> Listing:
        """The mails to consider; `known(message_id)` says the trigger already took it."""

    def mark_read(self, refs: list[str]) -> None: ...


def _context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def message_id_of(message: EmailMessage, raw: bytes) -> str:
    """The Message-ID header, or for a mail without one a stable stand-in from its bytes."""
    value = str(message.get("Message-ID") or "").strip()
    if value:
        return value
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"


def _text_of(part: EmailMessage, fallback_charset: str) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or fallback_charset
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode(fallback_charset, errors="replace")


def parse_mail(ref: str, raw: bytes, *, encoding: str = "UTF-8") -> Mail:
    """A mail from its bytes: headers, the text body (the HTML one if it has no text), and
    its attachments. `encoding` decodes parts that name no charset."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = _text_of(body_part, encoding) if isinstance(body_part, EmailMessage) else ""
    attachments = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        name = part.get_filename()
        content = part.get_payload(decode=True)
        if not name or not isinstance(content, bytes):
            continue  # an inline part without a name is not a file the robot could want
        attachments.append(Attachment(name, content, part.get_content_type()))
    return Mail(
        ref=ref,
        message_id=message_id_of(message, raw),
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        date=str(message.get("Date", "")),
        body=body,
        attachments=tuple(attachments),
    )


def _ok(answer: tuple[str, Any], what: str) -> list[Any]:
    """The data of an IMAP answer (imaplib's types vary by command), or MailboxError."""
    status, data = answer
    items = data if isinstance(data, list) else [data]
    if status != "OK":
        detail = b" ".join(d for d in items if isinstance(d, bytes)).decode(errors="replace")
        raise MailboxError(f"{what} failed: {detail or status}")
    return items


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapMailbox:
    def __init__(self, client: imaplib.IMAP4, condition: MailCondition) -> None:
        self.client = client
        self.condition = condition

    def _separator(self) -> str | None:
        data = _ok(self.client.list('""', '""'), "LIST")
        first = data[0] if data else None
        found = _LIST_LINE.match(first) if isinstance(first, bytes) else None
        return found.group("sep").decode() if found and found.group("sep") else None

    def folder_name(self) -> str:
        """The folder as the server names it: "/" in the trigger's folder stands for the
        server's own hierarchy separator (".", "\\", "|"...), so one spelling works on every
        server; a name already written with the server's separator is left as it is."""
        separator = self._separator()
        folder = self.condition.folder
        return folder.replace("/", separator) if separator and separator != "/" else folder

    def select(self) -> None:
        folder = self.folder_name()
        _ok(self.client.select(_quoted(folder)), f"opening folder {folder!r}")

    def mails(self, *, unread_only: bool, known: Callable[[str], bool]) -> Listing:
        found = _ok(self.client.uid("SEARCH", "UNSEEN" if unread_only else "ALL"), "SEARCH")
        uids = found[0].split() if found and isinstance(found[0], bytes) else []
        unread = set(self._unread(uids)) if not unread_only else set(uids)
        listing = Listing([], [])
        for uid in uids:
            header = self._fetch(uid, "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]")
            message = email.message_from_bytes(header, policy=email.policy.default)
            message_id = str(message.get("Message-ID") or "").strip()
            if not message_id or not known(message_id):
                raw = self._fetch(uid, "BODY.PEEK[]")
                mail = parse_mail(uid.decode(), raw, encoding=self.condition.encoding)
                if not known(mail.message_id):
                    listing.new.append(mail)
                    continue
            if uid in unread:
                listing.taken.append(uid.decode())
        return listing

    def _unread(self, uids: list[bytes]) -> list[bytes]:
        if not uids:
            return []
        found = _ok(self.client.uid("SEARCH", "UNSEEN"), "SEARCH")
        return found[0].split() if found and isinstance(found[0], bytes) else []

    def _fetch(self, uid: bytes, what: str) -> bytes:
        data = _ok(self.client.uid("FETCH", uid.decode(), f"({what})"), "FETCH")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        raise MailboxError(f"FETCH of mail {uid.decode()} returned no content")

    def mark_read(self, refs: list[str]) -> None:
        if refs:
            _ok(self.client.uid("STORE", ",".join(refs), "+FLAGS.SILENT", r"(\Seen)"), "STORE")


class Pop3Mailbox:
    def __init__(self, client: poplib.POP3, condition: MailCondition) -> None:
        self.client = client
        self.condition = condition

    def mails(self, *, unread_only: bool, known: Callable[[str], bool]) -> Listing:
        # POP3 has no read flag: every mail the trigger has not taken yet is unread to it.
        _, lines, _ = self.client.uidl()
        listing = Listing([], [])
        for line in lines:
            number, _, uidl = line.decode().partition(" ")
            _, header_lines, _ = self.client.top(int(number), 0)
            header = b"\r\n".join(header_lines)
            message = email.message_from_bytes(header, policy=email.policy.default)
            message_id = str(message.get("Message-ID") or "").strip()
            if message_id and known(message_id):
                continue
            _, body_lines, _ = self.client.retr(int(number))
            raw = b"\r\n".join(body_lines) + b"\r\n"
            mail = parse_mail(uidl, raw, encoding=self.condition.encoding)
            if not known(mail.message_id):
                listing.new.append(mail)
        return listing

    def mark_read(self, refs: list[str]) -> None:
        """Nothing to do on the server: the trigger remembers the mails it took."""


def _imap_login(client: imaplib.IMAP4, condition: MailCondition, login: Login) -> None:
    try:
        if condition.shared_mailbox:
            # A shared mailbox through SASL PLAIN's authorization identity: log in as the
            # credential's user, act as the shared mailbox (Dovecot master users, Exchange).
            token = f"{condition.shared_mailbox}\0{login.user}\0{login.password}".encode()
            _ok(client.authenticate("PLAIN", lambda _challenge: token), "login")
        else:
            _ok(client.login(login.user, login.password), "login")
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"login as {login.user!r} failed: {exc}") from None


@contextmanager
def _imap(
    condition: MailCondition, login: Login, timeout: float, ca_file: Path | None
) -> Iterator[Mailbox]:
    client: imaplib.IMAP4
    if condition.ssl:
        client = imaplib.IMAP4_SSL(
            condition.server, condition.port, ssl_context=_context(ca_file), timeout=timeout
        )
    else:
        client = imaplib.IMAP4(condition.server, condition.port, timeout=timeout)
    try:
        _imap_login(client, condition, login)
        box = ImapMailbox(client, condition)
        box.select()
        yield box
    finally:
        with suppress(imaplib.IMAP4.error, OSError):  # the connection goes away either way
            client.logout()


@contextmanager
def _pop3(
    condition: MailCondition, login: Login, timeout: float, ca_file: Path | None
) -> Iterator[Mailbox]:
    client: poplib.POP3
    if condition.ssl:
        client = poplib.POP3_SSL(
            condition.server, condition.port, context=_context(ca_file), timeout=timeout
        )
    else:
        client = poplib.POP3(condition.server, condition.port, timeout=timeout)
    try:
        user = login.user
        if condition.shared_mailbox:
            user = f"{condition.shared_mailbox}*{login.user}"  # Dovecot's master-user form
        try:
            client.user(user)
            client.pass_(login.password)
        except poplib.error_proto as exc:
            raise MailboxError(f"login as {login.user!r} failed: {exc}") from None
        yield Pop3Mailbox(client, condition)
    finally:
        with suppress(poplib.error_proto, OSError):
            # RSET first: QUIT commits a POP3 session, and this one must change nothing.
            client.rset()
            client.quit()


@contextmanager
def open_mailbox(
    condition: MailCondition, login: Login, *, timeout: float, ca_file: Path | None = None
) -> Iterator[Mailbox]:
    """The mailbox of the condition, logged in, folder open; errors become MailboxError."""
    opener = _imap if condition.protocol == "imap" else _pop3
    where = f"{condition.protocol} {condition.server}:{condition.port}"
    try:
        with opener(condition, login, timeout, ca_file) as box:
            yield box
    except MailboxError as exc:
        raise MailboxError(f"{where}: {exc}") from exc
    except (imaplib.IMAP4.error, poplib.error_proto) as exc:
        raise MailboxError(f"{where}: {exc}") from exc
    except (OSError, EOFError) as exc:  # refused, timed out, TLS failure, connection lost
        raise MailboxError(f"{where}: {type(exc).__name__}: {exc}") from exc
