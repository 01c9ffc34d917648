"""Deleting old log lines: the API's purge, and the scheduler's retention of logs and audit
(Sherpa's store_logs_days and store_audit_days) in bounded batches.

Screenshots are content-addressed: one image may be shown by several lines (of any account)
or even be a package's bytes. A blob is deleted only once nothing names it any more."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import Session

from robofleet.server.db.audit import record_event
from robofleet.server.db.system_actors import RETENTION
from robofleet.server.db.tables import (
    AccountRow,
    AuditRow,
    JobRow,
    LogRow,
    ProcessVersionRow,
    StorageFileRow,
)
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.logs import LogPurge
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.scheduled import Owner, account_owners

BATCH: Final = 5000
"""Rows one retention run deletes: a run is one short transaction, and the next tick goes on."""
NO_ACCOUNT: Final = 0
"""The owner of audit entries that belong to no account (first start, system events)."""


def purge_logs(runtime: Runtime, caller: Caller, data: LogPurge) -> int:
    caller.require(Screen.LOG, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        old = [LogRow.account_id == caller.account_id, LogRow.created_at < data.time]
        shots = _screenshots(session, old)
        result = session.execute(delete(LogRow).where(*old))
        purged = int(getattr(result, "rowcount", 0) or 0)
        record_event(
            session,
            caller.actor(),
            action="purge",
            object_type="log",
            object_guid=None,
            message=f"purged {purged} log lines older than {data.time:%Y-%m-%d %H:%M:%S}",
        )
        orphans = _unreferenced(session, shots)
    _delete_blobs(runtime, orphans)
    return purged


def cutoff(now: datetime, days: int) -> datetime | None:
    """The time before which rows go; None when kept for ever (0 days)."""
    return now - timedelta(days=days) if days > 0 else None


def accounts_with_old_logs(runtime: Runtime, now: datetime) -> list[Owner]:
    before = cutoff(now, runtime.settings.store_logs_days)
    if before is None:
        return []
    with runtime.db.read() as session:
        # One index probe per account, not a scan of the lines.
        old = exists().where(LogRow.account_id == AccountRow.id, LogRow.created_at < before)
        return account_owners(session, session.scalars(select(AccountRow.id).where(old)))


def delete_old_logs(runtime: Runtime, now: datetime, account_id: int) -> int:
    before = cutoff(now, runtime.settings.store_logs_days)
    if before is None:
        return 0
    with runtime.db.write(actor=RETENTION) as session:
        ids = list(
            session.scalars(
                select(LogRow.id)
                .where(LogRow.account_id == account_id, LogRow.created_at < before)
                .order_by(LogRow.created_at)
                .limit(BATCH)
            )
        )
        if not ids:
            return 0
        chosen = [LogRow.id.in_(ids)]
        shots = _screenshots(session, chosen)
        session.execute(delete(LogRow).where(*chosen))
        orphans = _unreferenced(session, shots)
    _delete_blobs(runtime, orphans)
    return len(ids)


def _audit_owner(account_id: int) -> ColumnElement[bool]:
    if account_id == NO_ACCOUNT:
        return AuditRow.account_id.is_(None)
    return AuditRow.account_id == account_id


def accounts_with_old_audit(runtime: Runtime, now: datetime) -> list[Owner]:
    before = cutoff(now, runtime.settings.store_audit_days)
    if before is None:
        return []
    with runtime.db.read() as session:
        old = exists().where(AuditRow.account_id == AccountRow.id, AuditRow.at < before)
        owners = account_owners(session, session.scalars(select(AccountRow.id).where(old)))
        orphan = select(AuditRow.id).where(_audit_owner(NO_ACCOUNT), AuditRow.at < before)
        if session.scalar(orphan.limit(1)) is not None:
            owners.append(Owner(id=NO_ACCOUNT, label="audit entries of no account"))
        return owners


def delete_old_audit(runtime: Runtime, now: datetime, account_id: int) -> int:
    before = cutoff(now, runtime.settings.store_audit_days)
    if before is None:
        return 0
    with runtime.db.write(actor=RETENTION) as session:
        ids = list(
            session.scalars(
                select(AuditRow.id)
                .where(_audit_owner(account_id), AuditRow.at < before)
                .order_by(AuditRow.at)
                .limit(BATCH)
            )
        )
        if ids:
            session.execute(delete(AuditRow).where(AuditRow.id.in_(ids)))
        return len(ids)


def _screenshots(session: Session, where: Iterable[ColumnElement[bool]]) -> set[str]:
    query = select(LogRow.screenshot_sha256).where(*where, LogRow.screenshot_sha256.is_not(None))
    return {sha for sha in session.scalars(query.distinct()) if sha}


BLOB_REFERENCES: Final = (
    LogRow.screenshot_sha256,
    ProcessVersionRow.sha256,
    JobRow.package_sha256,
    StorageFileRow.sha256,
)
"""Every column that names a blob. Blobs are content-addressed, so one image may also be a
stored file or a package; soft-deleted rows count too (they can be restored)."""


def _unreferenced(session: Session, shas: set[str]) -> set[str]:
    """Of the blobs the deleted lines showed, those nothing names any more."""
    if not shas:
        return set()
    wanted = sorted(shas)
    used: set[str | None] = set()
    for column in BLOB_REFERENCES:
        used |= set(session.scalars(select(column).where(column.in_(wanted))))
    return shas - {sha for sha in used if sha}


def _delete_blobs(runtime: Runtime, shas: set[str]) -> None:
    # After the commit: a rolled-back delete must not lose an image its lines still show.
    for sha in sorted(shas):
        runtime.blobs.delete(sha)
