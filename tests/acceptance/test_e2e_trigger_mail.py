"""An e-mail trigger through the real server on both stores, against a real Dovecot: created
through `/api/schedule/create` with a MailCondition, it reads the mailbox on the server's own
scheduler, makes one job per matching mail whose default task carries the mail, with the
attachment downloadable from Storage, and marks exactly those mails read; its "test mail"
button then reads the mailbox without changing it.

The mails are in the mailbox before the trigger exists: its first check comes at once (the
next ones wait CheckMinutes), so the test waits only for the scheduler's tick. Plain IMAP here:
SSL, POP3 and the other rules are covered at the service tier (tests/service)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from tests.acceptance.conftest import Tenant
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.fleet import make_process, make_robot
from tests.support.queues import eventually, make_queue
from tests.support.resources import create_resource, ok


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def mail(subject: str, body: str, **files: bytes) -> bytes:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Billing <billing@example.com>"
    message["To"] = "robot@example.com"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
    message.set_content(body)
    for name, content in files.items():
        message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return bytes(message)


def test_mails_become_jobs_with_their_attachments(tenant: Tenant, dovecot: Dovecot) -> None:
    api = tenant.api
    folder = f"Inbox{uuid.uuid4().hex[:8]}"
    dovecot.create_folder(folder)
    pdf = b"%PDF-1.7 invoice " + uuid.uuid4().bytes
    dovecot.append(mail("Invoice 17", "Please pay.", **{"invoice-17.pdf": pdf}), folder=folder)
    dovecot.append(mail("Lunch?", "Not an invoice subject."), folder=folder)
    credential = create_resource(
        api, f"mailbox-{uuid.uuid4().hex[:6]}", Type=1, Text=dovecot.user, Password=dovecot.password
    )
    queue = make_queue(api)
    trigger = ok(
        api.post(
            "/api/schedule/create",
            json={
                "Name": f"mail-{uuid.uuid4().hex[:6]}",
                "ProcessId": make_process(api),
                "RobotId": make_robot(api),
                "MailCondition": {
                    "Protocol": "IMAP",
                    "Server": dovecot.host,
                    "Port": dovecot.imap_port,
                    "Ssl": 0,
                    "CredentialId": credential,
                    "Folder": folder,
                    "SubjectContains": "invoice",
                    "AttachmentMasks": "*.pdf",
                    "QueueId": queue,
                    "CheckMinutes": 1,
                },
            },
        )
    )["guid"]

    fires: list[dict[str, Any]] = []

    def fired() -> bool:
        fires[:] = ok(api.get(f"/api/schedule/history/{trigger}"))["items"]
        return bool(fires)

    eventually(fired, timeout=30)
    (fire,) = fires
    assert (fire["reason"], fire["outcome"]) == ("mail", "created"), fire
    assert fire["fire_key"].startswith("mail:")
    job = ok(api.get(f"/api/job/read/{fire['job_guid']}"))
    assert job["source"] == "Trigger"
    task = ok(api.get(f"/api/task/read/{job['task_id']}"))
    data = task["parameters"]
    assert (data["Subject"], data["From"], data["Body"].strip()) == (
        "Invoice 17",
        "Billing <billing@example.com>",
        "Please pay.",
    )
    (attachment,) = data["Attachments"]
    assert (attachment["Name"], attachment["Size"]) == ("invoice-17.pdf", len(pdf))
    download = api.get(f"/api/files/download/{attachment['Guid']}")
    assert download.status_code == 200 and download.content == pdf
    # Marked read after the job committed: the invoice only; the other mail is untouched.
    eventually(lambda: dovecot.unseen_subjects(folder) == ["Lunch?"], timeout=10)
    # Sherpa's "test mail" button: the mailbox reads fine, the invoice is taken, and the
    # other mail does not match; nothing changes.
    tried = ok(api.post(f"/api/schedule/testMail/{trigger}"))
    assert (tried["ok"], tried["new_mails"], tried["matching"], tried["jobs"]) == (True, 1, 0, 0)
    assert dovecot.unseen_subjects(folder) == ["Lunch?"]
