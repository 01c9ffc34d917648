"""Sherpa's "test mail" button: read a trigger's mailbox as a check would, and change nothing
(no task, no job, no mail marked read, the check interval untouched). It answers what a check
would find now, or why the mailbox cannot be read: the way to try a server, a credential and
the filters before waiting for the first check. Whoever may update a trigger may try it."""

from __future__ import annotations

from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.mail_conditions import batches, matches, parse_mail_condition
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.trigger_mail import MailboxTry
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.triggers.crud import find_trigger
from robofleet.server.services.triggers.mail import known_mail, login_for
from robofleet.server.services.triggers.mailbox import MailboxError, open_mailbox

SUBJECTS = 20


def try_mailbox(runtime: Runtime, caller: Caller, ref: int | str) -> MailboxTry:
    caller.require(Screen.TRIGGER, Action.UPDATE)
    with runtime.db.read() as session:
        trigger = find_trigger(session, caller, ref)
        if not trigger.mail_condition:
            raise InvalidInput.for_field("Guid", "the trigger has no MailCondition to try")
        trigger_id = trigger.id
        condition = parse_mail_condition(trigger.mail_condition)
        try:
            login = login_for(runtime, session, trigger, condition.credential_id)
        except MailboxError as exc:
            return MailboxTry(ok=False, error=str(exc))
    try:
        with open_mailbox(
            condition,
            login,
            timeout=runtime.settings.mail_check_timeout_seconds,
            ca_file=runtime.settings.mail_ca_file,
        ) as box:
            listing = box.mails(
                unread_only=condition.unread_only,
                known=lambda message_id: known_mail(runtime, trigger_id, message_id),
            )
    except MailboxError as exc:
        return MailboxTry(ok=False, error=str(exc))
    matching = [mail for mail in listing.new if matches(condition, mail)]
    return MailboxTry(
        ok=True,
        new_mails=len(listing.new),
        matching=len(matching),
        jobs=len(batches(condition, matching)),
        subjects=[mail.subject for mail in matching[:SUBJECTS]],
    )
