"""Reading mailboxes against a real Dovecot: IMAP and POP3, plain and SSL (the certificate
verified against the test's CA file), folders with the server's separator, unread only,
mark as read, shared mailboxes (a master user), and the errors of a bad login or port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from robofleet.server.domain.mail_conditions import MailCondition, parse_mail_condition
from robofleet.server.services.triggers.mailbox import Login, MailboxError, open_mailbox
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.server import free_port


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def message(subject: str, body: str = "hello", *, html: bool = False, **files: bytes) -> bytes:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = "Sender <sender@example.com>"
    mail["To"] = "robot@example.com"
    mail["Date"] = "Wed, 02 Dec 2026 10:00:00 +0000"
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
    mail.set_content(body, subtype="html" if html else "plain")
    for name, content in files.items():
        mail.add_attachment(content, maintype="application", subtype="octet-stream", filename=name)
    return bytes(mail)


def condition(dovecot: Dovecot, **fields: Any) -> MailCondition:
    ssl = bool(fields.get("ssl"))
    pop3 = fields.get("protocol") == "pop3"
    port = {
        (False, False): dovecot.imap_port,
        (False, True): dovecot.imaps_port,
        (True, False): dovecot.pop3_port,
        (True, True): dovecot.pop3s_port,
    }[(pop3, ssl)]
    return parse_mail_condition(
        {"server": "127.0.0.1", "port": port, "credential_id": 1, "queue_id": 1, **fields}
        | {"ssl": ssl}
    )


def login(dovecot: Dovecot) -> Login:
    return Login(dovecot.user, dovecot.password)


def folder(dovecot: Dovecot) -> str:
    """A folder of the test's own (the server's separator is "."), named with "/"."""
    name = f"T{uuid.uuid4().hex[:8]}"
    dovecot.create_folder(f"{name}.Inner")
    return f"{name}/Inner"


def read(dovecot: Dovecot, cond: MailCondition, **kwargs: Any) -> list[str]:
    with open_mailbox(cond, login(dovecot), timeout=5, ca_file=dovecot.cert) as box:
        listing = box.mails(unread_only=cond.unread_only, known=lambda _m: False)
        return [mail.subject for mail in listing.new]


@pytest.mark.parametrize("ssl", [False, True])
def test_imap_reads_unread_mails_of_a_nested_folder_without_marking_them(
    dovecot: Dovecot, ssl: bool
) -> None:
    where = folder(dovecot)
    server_name = where.replace("/", ".")
    dovecot.append(message("first", "plain body", **{"a.pdf": b"%PDF-1"}), folder=server_name)
    dovecot.append(message("second", "<p>only html</p>", html=True), folder=server_name)
    dovecot.append(message("already read"), folder=server_name, seen=True)
    cond = condition(dovecot, ssl=ssl, folder=where)
    with open_mailbox(cond, login(dovecot), timeout=5, ca_file=dovecot.cert) as box:
        listing = box.mails(unread_only=True, known=lambda _m: False)
    first, second = listing.new
    assert (first.subject, first.body.strip(), first.sender) == (
        "first",
        "plain body",
        "Sender <sender@example.com>",
    )
    assert [(a.name, a.content) for a in first.attachments] == [("a.pdf", b"%PDF-1")]
    assert second.body.strip() == "<p>only html</p>"
    assert first.message_id.endswith("@example.com>")
    # Reading peeks: the mails are still unread on the server.
    assert sorted(dovecot.unseen_subjects(server_name)) == ["first", "second"]
    everything = condition(dovecot, ssl=ssl, folder=where, unread_only=False)
    assert sorted(read(dovecot, everything)) == ["already read", "first", "second"]


def test_imap_mark_read_and_mails_the_trigger_took_before(dovecot: Dovecot) -> None:
    where = folder(dovecot)
    server_name = where.replace("/", ".")
    for subject in ("one", "two", "three"):
        dovecot.append(message(subject), folder=server_name)
    cond = condition(dovecot, folder=where)
    with open_mailbox(cond, login(dovecot), timeout=5) as box:
        listing = box.mails(unread_only=True, known=lambda _m: False)
        taken_before = listing.new[1].message_id
        box.mark_read([listing.new[0].ref])
    assert sorted(dovecot.unseen_subjects(server_name)) == ["three", "two"]
    with open_mailbox(cond, login(dovecot), timeout=5) as box:
        listing = box.mails(unread_only=True, known=lambda m: m == taken_before)
        # "two" was taken (a crash before marking it read): not new, but listed to mark.
        assert [m.subject for m in listing.new] == ["three"]
        box.mark_read(listing.taken)
    assert dovecot.unseen_subjects(server_name) == ["three"]


@pytest.mark.parametrize("ssl", [False, True])
def test_pop3_reads_and_changes_nothing_on_the_server(dovecot: Dovecot, ssl: bool) -> None:
    subject = f"pop3 {uuid.uuid4().hex[:6]}"
    dovecot.append(message(subject, "by pop3", **{"scan.png": b"\x89PNG"}))
    cond = condition(dovecot, protocol="pop3", ssl=ssl)
    with open_mailbox(cond, login(dovecot), timeout=5, ca_file=dovecot.cert) as box:
        listing = box.mails(unread_only=True, known=lambda _m: False)
        mine = [m for m in listing.new if m.subject == subject]
        assert [(a.name, a.content) for a in mine[0].attachments] == [("scan.png", b"\x89PNG")]
        box.mark_read([mine[0].ref])
        skipped = box.mails(unread_only=True, known=lambda m: m == mine[0].message_id)
    assert subject not in [m.subject for m in skipped.new]
    # POP3 has no flags to set, and a check deletes nothing: the mail is as it was.
    assert subject in dovecot.unseen_subjects()


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_shared_mailbox_through_a_master_user(dovecot: Dovecot, protocol: str) -> None:
    subject = f"shared {uuid.uuid4().hex[:6]}"
    dovecot.append(message(subject))
    cond = condition(dovecot, protocol=protocol, shared_mailbox=dovecot.user)
    master = Login(dovecot.master, dovecot.master_password)
    with open_mailbox(cond, master, timeout=5) as box:
        listing = box.mails(unread_only=True, known=lambda _m: False)
    assert subject in [m.subject for m in listing.new]


def refused(cond: MailCondition, who: Login, pattern: str, ca_file: Path | None = None) -> None:
    with (
        pytest.raises(MailboxError, match=pattern),
        open_mailbox(cond, who, timeout=10, ca_file=ca_file),
    ):
        pass


def test_errors_name_the_server_and_the_cause(dovecot: Dovecot) -> None:
    # No CA file: the self-signed certificate is refused.
    refused(condition(dovecot, ssl=True), login(dovecot), "CERTIFICATE_VERIFY_FAILED")
    refused(condition(dovecot, folder="Nope"), login(dovecot), "opening folder 'Nope'")
    closed = parse_mail_condition(
        {
            "server": "127.0.0.1",
            "port": free_port(),
            "ssl": False,
            "credential_id": 1,
            "queue_id": 1,
        }
    )
    refused(closed, login(dovecot), r"imap 127\.0\.0\.1:\d+: ConnectionRefusedError")


def test_a_wrong_password_fails_the_login() -> None:
    # A server of its own, and one failed login: after one, Dovecot delays the next logins
    # from the same address by seconds, which would slow every other test.
    with running_dovecot() as own:
        refused(condition(own), Login(own.user, "wrong"), r"imap .*login as 'robot-mail' failed")
