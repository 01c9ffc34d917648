"""The e-mail condition's pure rules: reading the stored JSON, matching, batches, keys."""

from __future__ import annotations

import hashlib

import pytest

from robofleet.server.domain.errors import InvalidInput
from robofleet.server.domain.mail_conditions import (
    Attachment,
    Mail,
    batches,
    fire_key,
    mask_pattern,
    matches,
    parse_mail_condition,
)

BASE = {"server": "mail.example.com", "credential_id": 3, "queue_id": 7}


def mail(subject: str = "", body: str = "", *names: str, message_id: str = "<m@x>") -> Mail:
    files = tuple(Attachment(name, b"x", "application/octet-stream") for name in names)
    return Mail("1", message_id, "a@x", "b@y", subject, "", body, files)


def test_defaults_fill_in_and_ports_follow_protocol_and_ssl() -> None:
    plain = parse_mail_condition({**BASE, "ssl": False})
    assert (plain.protocol, plain.port, plain.folder, plain.encoding) == (
        "imap",
        143,
        "INBOX",
        "UTF-8",
    )
    assert (plain.unread_only, plain.mark_read, plain.one_job_per_mail) == (True, True, True)
    assert (plain.min_mails, plain.check_minutes) == (0, None)
    assert parse_mail_condition(BASE).port == 993  # SSL unless said otherwise
    assert parse_mail_condition({**BASE, "protocol": "POP3"}).port == 995
    assert parse_mail_condition({**BASE, "protocol": "pop3", "ssl": 0}).port == 110
    assert parse_mail_condition({**BASE, "check_minutes": 0.05}).check_minutes == 0.05


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"server": ""}, "server"),
        ({"protocol": "smtp"}, "protocol"),
        ({"port": 70000}, "port"),
        ({"credential_id": None}, "credential_id"),
        ({"queue_id": "seven"}, "queue_id"),
        ({"encoding": "latin-1"}, "encoding"),
        ({"ssl": "maybe"}, "ssl"),
        ({"min_mails": -1}, "min_mails"),
        ({"check_minutes": 0}, "check_minutes"),
        ({"subject_contains": [1, 2]}, "subject_contains"),
    ],
)
def test_bad_values_name_their_key(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_mail_condition({**BASE, **change})
    assert raised.value.details[0].field == f"MailCondition.{field}"


def test_substrings_any_within_a_list_all_across_lists_ignoring_case() -> None:
    condition = parse_mail_condition(
        {**BASE, "subject_contains": "invoice, Bill ", "body_contains": ["urgent"]}
    )
    assert condition.subject_contains == ("invoice", "Bill")
    assert matches(condition, mail("Your INVOICE 42", "this is Urgent"))
    assert matches(condition, mail("bill for May", "urgent"))
    assert not matches(condition, mail("Receipt", "urgent"))
    assert not matches(condition, mail("invoice", "whenever"))
    assert matches(parse_mail_condition(BASE), mail())


def test_attachment_masks_star_and_question_mark_only() -> None:
    condition = parse_mail_condition({**BASE, "attachment_masks": ["*.pdf", "scan_??.png"]})
    assert matches(condition, mail("", "", "notes.txt", "Invoice.PDF"))
    assert matches(condition, mail("", "", "scan_01.png"))
    assert not matches(condition, mail("", "", "scan_001.png"))
    assert not matches(condition, mail("no attachment"))
    # Other fnmatch syntax means itself: "[ab].txt" is that very name, "." is a dot.
    assert mask_pattern("[ab].txt").fullmatch("[ab].txt")
    assert not mask_pattern("[ab].txt").fullmatch("a.txt")
    assert not mask_pattern("a.c").fullmatch("abc")


def test_batches_wait_for_more_than_min_mails_then_per_mail_or_all() -> None:
    mails = [mail(message_id=f"<{n}@x>") for n in range(3)]
    per_mail = parse_mail_condition({**BASE, "min_mails": 2})
    assert [len(b) for b in batches(per_mail, mails)] == [1, 1, 1]
    assert batches(per_mail, mails[:2]) == []
    all_in_one = parse_mail_condition({**BASE, "one_job_per_mail": False})
    assert [len(b) for b in batches(all_in_one, mails)] == [3]


def test_fire_key_is_sha256_of_the_sorted_message_ids() -> None:
    key = fire_key(["<b@x>", "<a@x>"])
    assert key == fire_key(["<a@x>", "<b@x>"])
    assert key == ("mail:" + hashlib.sha256(b"<a@x>\n<b@x>").hexdigest())[:64]
    assert len(key) == 64
