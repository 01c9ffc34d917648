"""E-mail conditions end to end at the service tier: a real Dovecot, the application
in-process on SQLite and on PostgreSQL, and the mail checks driven with a chosen `now`.

Covered: one job per mail and one for all; process only when more than N mails match;
subject filter and attachment masks; the mail and its attachments reaching the job's default
task (files downloadable from Storage); mark as read only for the mails taken; no second job
for a mail (after a crash before marking it read, or when POP3 shows it again); the check
interval, the daily window, valid dates and a disabled trigger; a fire the job rules refuse
leaves the mails for the next check."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from robofleet.server.app import create_app
from robofleet.server.db.system_actors import SCHEDULER
from robofleet.server.db.tables import (
    AccountRow,
    JobRow,
    ProcessRow,
    QueueRow,
    ResourceRow,
    RobotRow,
    TaskRow,
    TriggerFireRow,
    TriggerMailRow,
    TriggerRow,
)
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.scheduler.mail_checks import MailChecks
from robofleet.server.services.triggers import mail as mail_checks
from robofleet.server.services.triggers.mailbox import open_mailbox
from robofleet.server.settings import Settings
from robofleet.server.startup import prepare
from tests.service.conftest import ADMIN_KEY, SECRET_KEY, Service, TestClient, make_tenant
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.fleet import make_process, make_robot
from tests.support.pg import create_database, drop_database
from tests.support.queues import make_queue
from tests.support.resources import create_resource
from tests.support.server import free_port

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dovecot: Dovecot
) -> Iterator[Service]:
    url = create_database() if request.param == "postgresql" else None
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("mail-service"),
        database_url=url,
        api_key=ADMIN_KEY,
        admin_password="admin-password-for-tests",
        secret_key=SECRET_KEY,
        scheduler_enabled=False,
        mail_ca_file=dovecot.cert,
    )
    prepare(settings)
    application = create_app(settings)
    try:
        with TestClient(application, headers={"Key": ADMIN_KEY}) as admin:
            yield Service(application, admin)
    finally:
        if url:
            drop_database(url)


@dataclass
class Setup:
    service: Service
    dovecot: Dovecot
    api: TestClient
    trigger_id: int
    queue_id: int
    folder: str

    @property
    def runtime(self) -> Any:
        return self.service.runtime

    def send(self, subject: str, body: str = "hello", **files: bytes) -> str:
        mail = EmailMessage()
        mail["Subject"] = subject
        mail["From"] = "Sender <sender@example.com>"
        mail["To"] = "robot@example.com"
        mail["Date"] = "Wed, 02 Dec 2026 10:00:00 +0000"
        mail["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@example.com>"
        mail.set_content(body)
        for name, content in files.items():
            mail.add_attachment(content, maintype="application", subtype="pdf", filename=name)
        self.dovecot.append(bytes(mail), folder=self.folder)
        return message_id

    def check(self, now: datetime = NOW) -> mail_checks.MailCheck:
        return mail_checks.check_trigger(self.runtime, self.trigger_id, now)

    def tasks(self) -> list[TaskRow]:
        with self.runtime.db.read() as session:
            query = select(TaskRow).where(TaskRow.queue_id == self.queue_id).order_by(TaskRow.id)
            return list(session.scalars(query))

    def fires(self) -> list[TriggerFireRow]:
        with self.runtime.db.read() as session:
            query = select(TriggerFireRow).where(TriggerFireRow.trigger_id == self.trigger_id)
            return list(session.scalars(query.order_by(TriggerFireRow.id)))

    def update(self, **fields: Any) -> None:
        with self.runtime.db.write(actor=SCHEDULER) as session:
            row = session.get(TriggerRow, self.trigger_id)
            assert row is not None
            for name, value in fields.items():
                setattr(row, name, value)


def _id(service: Service, model: Any, guid: str) -> int:
    with service.runtime.db.read() as session:
        return int(session.scalar(select(model.id).where(model.guid == guid)))


def setup_trigger(app: Service, dovecot: Dovecot, **condition: Any) -> Setup:
    tenant = make_tenant(app)
    api = tenant.api
    process = _id(app, ProcessRow, make_process(api))
    robot = _id(app, RobotRow, make_robot(api))
    queue_name = make_queue(api)
    with app.runtime.db.read() as session:
        account = session.scalar(select(AccountRow.id).where(AccountRow.guid == tenant.guid))
        queue = session.scalar(
            select(QueueRow.id).where(QueueRow.account_id == account, QueueRow.name == queue_name)
        )
    credential = _id(
        app,
        ResourceRow,
        create_resource(
            api,
            f"mailbox-{uuid.uuid4().hex[:6]}",
            Type=1,
            Text=dovecot.user,
            Password=dovecot.password,
        ),
    )
    folder = condition.get("folder") or f"T{uuid.uuid4().hex[:8]}"
    if folder != "INBOX":
        dovecot.create_folder(folder)
    protocol = condition.get("protocol", "imap")
    stored = {
        "protocol": protocol,
        "server": "127.0.0.1",
        "port": dovecot.imaps_port if protocol == "imap" else dovecot.pop3s_port,
        "ssl": True,  # verified against the test server's certificate (mail_ca_file)
        "credential_id": credential,
        "queue_id": queue,
        "folder": folder,
        "check_minutes": 10,
        **condition,
    }
    with app.runtime.db.write(actor=SCHEDULER) as session:
        row = TriggerRow(
            account_id=account,
            name=f"mail-{uuid.uuid4().hex[:6]}",
            process_id=process,
            robot_type=1,
            robot_id=robot,
            # One job per mail queues behind the robot's earlier ones (a busy robot would
            # otherwise skip the fire, leaving the mail for the next check).
            when_busy="fewest_pending",
            # Continuous: "at any time"; the mail condition drives it (no queue_id: that
            # column is the queue condition's, the mail's queue is in the condition).
            processing_type=1,
            schedule_kind="continuous",
            mail_condition=stored,
        )
        session.add(row)
        session.flush()
        trigger_id = row.id
    return Setup(app, dovecot, api, trigger_id, queue, folder)


def test_one_job_per_matching_mail_with_its_attachment_then_marked_read(
    app: Service, dovecot: Dovecot
) -> None:
    s = setup_trigger(app, dovecot, subject_contains="invoice, bill", attachment_masks=["*.pdf"])
    first = s.send("Invoice 1", "pay me", **{"inv-1.pdf": b"%PDF-one"})
    s.send("Bill 2", "no file")  # no attachment: the masks leave it out
    s.send("Newsletter", "buy", **{"x.pdf": b"%PDF"})  # subject does not match
    second = s.send("INVOICE 3", "again", **{"scan.PDF": b"%PDF-3", "notes.txt": b"n"})

    result = s.check()
    assert (result.checked, result.matching, result.skipped) == (True, 2, [])
    assert len(result.created_jobs) == 2
    tasks = s.tasks()
    assert [t.parameters["MessageId"] for t in tasks] == [first, second]
    data = tasks[0].parameters
    assert (data["Subject"], data["Body"].strip(), data["From"]) == (
        "Invoice 1",
        "pay me",
        "Sender <sender@example.com>",
    )
    (attachment,) = data["Attachments"]
    assert attachment["Name"] == "inv-1.pdf" and attachment["Size"] == 8
    assert attachment["Path"].startswith(f"Triggers/{s.trigger_id}/")
    download = s.api.get(f"/api/files/download/{attachment['Guid']}")
    assert download.status_code == 200 and download.content == b"%PDF-one"
    assert [a["Name"] for a in tasks[1].parameters["Attachments"]] == ["scan.PDF", "notes.txt"]

    # Each job's default task is its mail's task, taken In Progress for it.
    with s.runtime.db.read() as session:
        jobs = [session.get(JobRow, job_id) for job_id in result.created_jobs]
        assert [(j.task_id, j.source, j.schedule_id) for j in jobs if j] == [
            (t.id, "Trigger", s.trigger_id) for t in tasks
        ]
    assert [t.status for t in s.tasks()] == [TaskStatus.IN_PROGRESS] * 2
    fires = s.fires()
    assert [(f.reason, f.outcome) for f in fires] == [("mail", "created")] * 2
    assert all(f.fire_key.startswith("mail:") and len(f.fire_key) == 64 for f in fires)
    # Only the mails that made jobs are marked read.
    assert sorted(dovecot.unseen_subjects(s.folder)) == ["Bill 2", "Newsletter"]
    # The next check, an interval later, finds nothing new.
    again = s.check(NOW + timedelta(minutes=10))
    assert again.checked and again.created_jobs == [] and len(s.tasks()) == 2


def test_one_job_for_all_only_when_more_than_n_mails_match(app: Service, dovecot: Dovecot) -> None:
    s = setup_trigger(app, dovecot, one_job_per_mail=False, min_mails=1, check_minutes=1)
    s.send("a")
    assert s.check().created_jobs == []
    assert dovecot.unseen_subjects(s.folder) == ["a"]
    s.send("b", **{"b.pdf": b"%PDF-b"})
    result = s.check(NOW + timedelta(minutes=1))
    assert len(result.created_jobs) == 1
    (task,) = s.tasks()
    assert task.parameters["Count"] == 2
    assert [m["Subject"] for m in task.parameters["Mails"]] == ["a", "b"]
    assert task.parameters["Mails"][1]["Attachments"][0]["Name"] == "b.pdf"
    assert dovecot.unseen_subjects(s.folder) == []


def test_checked_only_when_due_enabled_and_inside_window_and_dates(
    app: Service, dovecot: Dovecot
) -> None:
    s = setup_trigger(app, dovecot, check_minutes=5)
    s.send("x")
    s.update(window_start="13:00", window_end="14:00")
    assert not s.check().checked
    assert s.trigger_id not in mail_checks.triggers_to_check(s.runtime, NOW)
    s.update(window_start="23:00", window_end="12:30")  # wraps past midnight: 12:00 is in
    s.update(start_at=NOW + timedelta(days=1))
    assert not s.check().checked
    s.update(start_at=None, end_at=NOW - timedelta(days=1))
    assert not s.check().checked
    s.update(end_at=None, status=0)
    assert not s.check().checked
    s.update(status=1)
    assert s.trigger_id in mail_checks.triggers_to_check(s.runtime, NOW)
    assert len(s.check().created_jobs) == 1
    # Checked at NOW: not again before NOW + 5 minutes.
    s.send("y")
    assert not s.check(NOW + timedelta(minutes=4)).checked
    assert len(s.check(NOW + timedelta(minutes=5)).created_jobs) == 1


def test_a_crash_before_marking_read_makes_no_second_job(app: Service, dovecot: Dovecot) -> None:
    s = setup_trigger(app, dovecot)
    s.send("once")
    # The fire commits, then the process dies before the mail is marked read.
    claim = mail_checks.claim(s.runtime, s.trigger_id, NOW)
    assert claim is not None
    with open_mailbox(claim.condition, claim.login, timeout=5, ca_file=dovecot.cert) as box:
        (mail,) = box.mails(unread_only=True, known=lambda _m: False).new
    _job, why = mail_checks._fire_batch(s.runtime, claim, [mail], NOW)
    assert why == ""
    assert dovecot.unseen_subjects(s.folder) == ["once"]
    # The next check takes no second job for it, and marks it read now.
    result = s.check(NOW + timedelta(minutes=10))
    assert result.created_jobs == [] and result.marked_read == 1
    assert dovecot.unseen_subjects(s.folder) == []
    assert len(s.tasks()) == 1 and len(s.fires()) == 1


def test_pop3_takes_each_mail_once_and_leaves_the_mailbox_alone(
    app: Service, dovecot: Dovecot
) -> None:
    token = f"pop-{uuid.uuid4().hex[:6]}"
    s = setup_trigger(app, dovecot, protocol="pop3", folder="INBOX", subject_contains=[token])
    s.send(f"{token} one", **{"p.pdf": b"%PDF-pop"})
    first = s.check()
    assert len(first.created_jobs) == 1
    assert s.tasks()[0].parameters["Attachments"][0]["Size"] == 8
    s.send(f"{token} two")
    second = s.check(NOW + timedelta(minutes=10))
    assert len(second.created_jobs) == 1  # "one" is remembered, not taken again
    assert [t.parameters["Subject"] for t in s.tasks()] == [f"{token} one", f"{token} two"]
    with s.runtime.db.read() as session:
        taken = session.scalars(
            select(TriggerMailRow).where(TriggerMailRow.trigger_id == s.trigger_id)
        ).all()
    assert len(taken) == 2
    # POP3 marks nothing and deletes nothing.
    assert {f"{token} one", f"{token} two"} <= set(dovecot.unseen_subjects())


def test_a_refused_fire_leaves_the_mails_for_the_next_check(app: Service, dovecot: Dovecot) -> None:
    s = setup_trigger(app, dovecot)
    s.update(when_busy="skip")
    s.send("first")
    assert len(s.check().created_jobs) == 1
    s.send("second")  # its robot now has a pending job: busy, and the rule says skip
    refused = s.check(NOW + timedelta(minutes=10))
    assert refused.created_jobs == [] and len(refused.skipped) == 1
    skip = s.fires()[-1]
    assert skip.outcome == "skipped" and skip.fire_key.startswith("mail-skip:")
    assert "tried again at the next check" in skip.detail
    # No task and no record of the mail were kept: it is still unread, and taken later.
    assert len(s.tasks()) == 1
    assert dovecot.unseen_subjects(s.folder) == ["second"]
    s.update(when_busy="fewest_pending")
    assert len(s.check(NOW + timedelta(minutes=20)).created_jobs) == 1
    assert dovecot.unseen_subjects(s.folder) == []


def test_trying_the_mailbox_reports_and_changes_nothing(app: Service, dovecot: Dovecot) -> None:
    s = setup_trigger(app, dovecot, subject_contains=["order"], min_mails=1)
    s.send("Order 1")
    s.send("Order 2")
    s.send("Spam")
    with s.runtime.db.read() as session:
        guid = session.get(TriggerRow, s.trigger_id).guid
    answer = s.api.post(f"/api/schedule/testMail/{guid}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ok": True,
        "error": "",
        "new_mails": 3,
        "matching": 2,
        "jobs": 2,
        "subjects": ["Order 1", "Order 2"],
    }
    assert sorted(dovecot.unseen_subjects(s.folder)) == ["Order 1", "Order 2", "Spam"]
    assert s.tasks() == [] and s.fires() == []
    # The first real check is still due at once.
    assert s.trigger_id in mail_checks.triggers_to_check(s.runtime, NOW)
    broken = setup_trigger(app, dovecot, port=free_port())
    with s.runtime.db.read() as session:
        broken_guid = session.get(TriggerRow, broken.trigger_id).guid
    failed = broken.api.post(f"/api/schedule/testMail/{broken_guid}").json()
    assert failed["ok"] is False and "ConnectionRefusedError" in failed["error"]
    no_mail = s.api.post(f"/api/schedule/testMail/{uuid.uuid4()}")
    assert no_mail.status_code == 404


def test_the_scheduler_checks_while_leading_and_logs_a_broken_mailbox_once(
    app: Service, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    good = setup_trigger(app, dovecot)
    good.send("via the scheduler")
    broken = setup_trigger(app, dovecot, port=free_port())  # nothing listens there
    leading = False
    checks = MailChecks(app.runtime, lambda _now: leading)
    try:
        assert checks.tick(NOW) == 0  # not the leader: nothing is read
        leading = True
        started = checks.tick(NOW)
        assert started >= 2  # other tests' triggers of this app may be due as well
        checks.drain(timeout=30)
        assert [t.parameters["Subject"] for t in good.tasks()] == ["via the scheduler"]
        failures = [r for r in caplog.records if f"trigger {broken.trigger_id} failed" in r.message]
        assert len(failures) == 1 and "ConnectionRefusedError" in failures[0].message
        # Checked at NOW: neither is due again before its interval.
        assert checks.tick(NOW + timedelta(minutes=1)) == 0
        # The same failure, an interval later, is not logged again.
        checks.tick(NOW + timedelta(minutes=10))
        checks.drain(timeout=30)
        again = [r for r in caplog.records if f"trigger {broken.trigger_id} failed" in r.message]
        assert len(again) == 1
    finally:
        checks.stop()
