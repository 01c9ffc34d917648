"""What the scheduler's duties share: the owner one run of a duty is narrowed to.

Each duty first lists the owners (accounts, or queues) that have work due, then runs once per
owner in a transaction of its own, so one owner's bad row fails that owner alone and never
stops the others (issue 8, defect 1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import AccountRow


@dataclass(frozen=True)
class Owner:
    """What one run of a duty is narrowed to: an account, or a queue of an account."""

    id: int
    """The account id, or the queue id for per-queue duties."""
    label: str
    """Who it is, by GUID, for the log: `account <guid>` or `queue <guid> of account <guid>`."""


def account_guids(session: Session, account_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = session.execute(select(AccountRow.id, AccountRow.guid).where(AccountRow.id.in_(ids)))
    return {row.id: row.guid for row in rows}


def account_owners(session: Session, account_ids: Iterable[int]) -> list[Owner]:
    ids = sorted(set(account_ids))
    guids = account_guids(session, ids)
    return [Owner(id=i, label=f"account {guids.get(i, f'id {i}')}") for i in ids]
