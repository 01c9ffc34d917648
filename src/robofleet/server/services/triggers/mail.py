"""E-mail conditions: a trigger that reads a mailbox and turns matching mails into jobs.

One check of one trigger:
1. claim: in a short transaction, the trigger is still enabled, inside its daily window and
   valid dates, and due (last_checked_at + its interval has passed); last_checked_at = now.
   A failing mailbox is therefore tried again at the next interval, not on every tick;
2. read the mailbox (services.triggers.mailbox; each network step has
   settings.mail_check_timeout_seconds) and keep the mails the condition matches, leaving
   out those this trigger took before (table trigger_mails);
3. more than `min_mails` matching: one batch per mail, or one for all. For each batch, the
   attachments go to the blob store first; then ONE transaction writes their Storage rows,
   the task that carries the mail(s) (in the condition's queue), the fire (engine:
   fire_in_session with fire key "mail:" + sha256 of the sorted Message-IDs, task_id = that
   task) and the trigger_mails rows. A crash anywhere before that commit leaves nothing
   (the mail is taken at the next check); after it, the fire key and trigger_mails rows keep
   a second job from being made;
4. after the commit, and only then, the batch's mails are marked read (IMAP \\Seen), as are
   mails taken before but still unread (a crash between 3 and 4).

A fire the job rules refuse (all robots busy under "skip", max runs reached...) is rolled
back with its task: the mails stay untaken and are tried again at the next check, and the
history records the skip with its reason under a key of its own ("mail-skip:<uuid>").
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.system_actors import SCHEDULER
from robofleet.server.db.tables import (
    JobRow,
    QueueRow,
    ResourceRow,
    TaskRow,
    TriggerFireRow,
    TriggerMailRow,
    TriggerRow,
)
from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.mail_conditions import (
    Mail,
    MailCondition,
    batches,
    fire_key,
    mail_key,
    matches,
    parse_mail_condition,
)
from robofleet.server.domain.schedules import DailyWindow, in_window
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.queues import TaskFields
from robofleet.server.services.resources.crud import CREDENTIALS, view
from robofleet.server.services.tasks.state import Change, add_tasks, new_task
from robofleet.server.services.triggers.default_task import QueueCondition, hand_over
from robofleet.server.services.triggers.firing import ENABLED, FireRequest, fire_in_session
from robofleet.server.services.triggers.mail_files import (
    KeptMail,
    keep_attachments,
    mail_data,
    task_name,
    write_files,
)
from robofleet.server.services.triggers.mailbox import Login, MailboxError, open_mailbox

log = logging.getLogger("robofleet.triggers.mail")
REASON = "mail"


@dataclass(frozen=True)
class Claim:
    """What a check needs, read when it claimed the trigger."""

    trigger_id: int
    account_id: int
    access_folder_id: int | None
    condition: MailCondition
    login: Login


@dataclass
class MailCheck:
    """What one check did (for tests and the log)."""

    trigger_id: int
    checked: bool = False
    """False: not due, disabled, outside its window, or taken by another check."""
    matching: int = 0
    created_jobs: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    marked_read: int = 0


def _window(row: TriggerRow) -> DailyWindow | None:
    if not row.window_start or not row.window_end:
        return None
    return DailyWindow(time.fromisoformat(row.window_start), time.fromisoformat(row.window_end))


def _interval(runtime: Runtime, condition: MailCondition) -> timedelta:
    minutes = condition.check_minutes or runtime.settings.mail_check_interval_minutes
    return timedelta(minutes=minutes)


def _may_check(runtime: Runtime, row: TriggerRow, now: datetime) -> MailCondition | None:
    """The trigger's condition when a check is due now, else None."""
    if row.status != ENABLED or row.is_deleted or not row.mail_condition:
        return None
    if (row.start_at and now < row.start_at) or (row.end_at and now > row.end_at):
        return None
    if not in_window(_window(row), now, row.time_zone):
        return None
    try:
        condition = parse_mail_condition(row.mail_condition)
    except InvalidInput:
        return None  # the API refuses such a condition; an old row is left alone
    last = row.last_checked_at
    if last is not None and last + _interval(runtime, condition) > now:
        return None
    return condition


def triggers_to_check(runtime: Runtime, now: datetime) -> list[int]:
    """Enabled triggers with an e-mail condition whose check is due now. The column holds
    JSON null (not SQL NULL) once a condition is cleared, so the rows are looked at here too."""
    with runtime.db.read() as session:
        rows = session.scalars(
            select(TriggerRow).where(
                TriggerRow.status == ENABLED,
                TriggerRow.is_deleted.is_(False),
                TriggerRow.mail_condition.is_not(None),
            )
        ).all()
        return [row.id for row in rows if _may_check(runtime, row, now) is not None]


def login_for(runtime: Runtime, session: Session, row: TriggerRow, credential_id: int) -> Login:
    resource = session.get(ResourceRow, credential_id)
    if resource is None or resource.is_deleted or resource.account_id != row.account_id:
        raise MailboxError(f"credential resource {credential_id} does not exist")
    if resource.type != CREDENTIALS:
        raise MailboxError(f"resource {credential_id} is not a Credentials (Type 1) resource")
    password = view(runtime, session, resource, reveal=True).password
    return Login(resource.text, password or "")


def claim(runtime: Runtime, trigger_id: int, now: datetime) -> Claim | None:
    """Take the trigger's check for now (one guarded write); None when it is not due."""
    with runtime.db.write(actor=SCHEDULER) as session:
        row = session.scalar(
            select(TriggerRow).where(TriggerRow.id == trigger_id).with_for_update()
        )
        if row is None:
            return None
        condition = _may_check(runtime, row, now)
        if condition is None:
            return None
        row.last_checked_at = now
        account_id, access = row.account_id, row.folder_id
    # The credential is read after the claim commits: a broken one fails this check, and the
    # next check waits for the interval like any other failure.
    with runtime.db.read() as session:
        trigger = session.get(TriggerRow, trigger_id)
        assert trigger is not None
        login = login_for(runtime, session, trigger, condition.credential_id)
    return Claim(trigger_id, account_id, access, condition, login)


def known_mail(runtime: Runtime, trigger_id: int, message_id: str) -> bool:
    with runtime.db.read() as session:
        found = session.scalar(
            select(TriggerMailRow.id).where(
                TriggerMailRow.trigger_id == trigger_id,
                TriggerMailRow.mail_key == mail_key(message_id),
            )
        )
        return found is not None


class _Undo(Exception):
    """Rolls back a batch's transaction (its fire did not happen)."""

    def __init__(self, detail: str, duplicate: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.duplicate = duplicate


def _queue(session: Session, claimed: Claim) -> QueueRow:
    queue = session.get(QueueRow, claimed.condition.queue_id)
    if queue is None or queue.is_deleted or queue.account_id != claimed.account_id:
        raise MailboxError(f"queue {claimed.condition.queue_id} of the condition does not exist")
    return queue


def _add_task(session: Session, claimed: Claim, kept: list[KeptMail], now: datetime) -> int:
    mails = [k.mail for k in kept]
    items = [
        mail_data(
            k.mail,
            write_files(
                session,
                account_id=claimed.account_id,
                trigger_id=claimed.trigger_id,
                access=claimed.access_folder_id,
                kept=k,
            ),
        )
        for k in kept
    ]
    # One mail: its fields are the task's data; several: the list of them under "Mails".
    data = items[0] if len(items) == 1 else {"Mails": items, "Count": len(items)}
    queue = _queue(session, claimed)
    row = new_task(queue, task_name(mails), TaskFields(parameters=data), now)
    add_tasks(session, [row], Change(SCHEDULER.name, "mail received"), now)
    return int(session.scalars(select(TaskRow.id).where(TaskRow.guid == row["guid"])).one())


def _hand_over(
    session: Session, claimed: Claim, task_id: int, job_id: int | None, now: datetime
) -> None:
    """The mail's task is taken In Progress for its job, as a queue condition's default task
    is by default: no other taker gets it while the job works on it."""
    trigger = session.get(TriggerRow, claimed.trigger_id)
    task = session.get(TaskRow, task_id)
    job = session.get(JobRow, job_id) if job_id is not None else None
    if trigger is not None and task is not None and job is not None:
        hand_over(session, trigger, QueueCondition(), task, job, now)


def _fire_batch(
    runtime: Runtime, claimed: Claim, batch: list[Mail], now: datetime
) -> tuple[int | None, str]:
    """One batch's one transaction; (job id, "") when it created a job, else (None, why)."""
    kept = [keep_attachments(runtime, mail) for mail in batch]
    key = fire_key(mail.message_id for mail in batch)
    try:
        with runtime.db.write(actor=SCHEDULER) as session:
            task_id = _add_task(session, claimed, kept, now)
            outcome = fire_in_session(
                session,
                runtime,
                FireRequest(
                    trigger_id=claimed.trigger_id,
                    reason=REASON,
                    fire_key=key,
                    scheduled_at=None,
                    now=now,
                    task_id=task_id,
                ),
            )
            if outcome.duplicate or not outcome.created:
                raise _Undo(outcome.detail, outcome.duplicate)
            _hand_over(session, claimed, task_id, outcome.job_id, now)
            session.add_all(
                TriggerMailRow(
                    trigger_id=claimed.trigger_id,
                    mail_key=mail.key,
                    fire_id=outcome.fire_id,
                    taken_at=now,
                )
                for mail in batch
            )
            return outcome.job_id, ""
    except _Undo as undo:
        if undo.duplicate:
            return None, "already fired"
        _record_skip(runtime, claimed, now, undo.detail)
        return None, undo.detail


def _record_skip(runtime: Runtime, claimed: Claim, now: datetime, detail: str) -> None:
    with runtime.db.write(actor=SCHEDULER) as session:
        session.add(
            TriggerFireRow(
                account_id=claimed.account_id,
                trigger_id=claimed.trigger_id,
                fire_key=f"mail-skip:{uuid.uuid4().hex}",
                reason=REASON,
                outcome="skipped",
                detail=f"{detail}; the mails stay unread and are tried again at the next check",
                created_at=now,
            )
        )


def check_trigger(runtime: Runtime, trigger_id: int, now: datetime) -> MailCheck:
    """One check of one trigger's mailbox (see the module doc)."""
    result = MailCheck(trigger_id)
    claimed = claim(runtime, trigger_id, now)
    if claimed is None:
        return result
    result.checked = True
    condition = claimed.condition
    with open_mailbox(
        condition,
        claimed.login,
        timeout=runtime.settings.mail_check_timeout_seconds,
        ca_file=runtime.settings.mail_ca_file,
    ) as box:
        listing = box.mails(
            unread_only=condition.unread_only,
            known=lambda message_id: known_mail(runtime, trigger_id, message_id),
        )
        matching = [mail for mail in listing.new if matches(condition, mail)]
        result.matching = len(matching)
        to_mark = list(listing.taken)
        for batch in batches(condition, matching):
            job_id, why = _fire_batch(runtime, claimed, batch, now)
            if job_id is not None:
                result.created_jobs.append(job_id)
            else:
                result.skipped.append(why)
            if job_id is not None or why == "already fired":
                to_mark.extend(mail.ref for mail in batch)
        if condition.mark_read and to_mark:
            box.mark_read(to_mark)
            result.marked_read = len(to_mark)
    if result.created_jobs:
        log.info("trigger %d: %d job(s) from mail", trigger_id, len(result.created_jobs))
    return result
