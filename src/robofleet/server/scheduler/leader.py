"""Leadership by lease: the node whose lease row is unexpired runs the singleton duties."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from robofleet.server.db.session import Database
from robofleet.server.db.system_actors import SCHEDULER_LEADERSHIP
from robofleet.server.db.tables import SchedulerLeaseRow
from robofleet.server.domain.errors import Conflict


def hold_lease(db: Database, *, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
    """Take or renew the lease; True when `holder` leads until now + ttl."""
    try:
        with db.write(actor=SCHEDULER_LEADERSHIP) as session:
            lease = session.scalar(
                select(SchedulerLeaseRow).where(SchedulerLeaseRow.name == name).with_for_update()
            )
            expires = now + timedelta(seconds=ttl_seconds)
            if lease is None:
                session.add(SchedulerLeaseRow(name=name, holder=holder, expires_at=expires))
                return True
            if lease.holder == holder or lease.expires_at < now:
                lease.holder = holder
                lease.expires_at = expires
                return True
            return False
    except Conflict:
        return False  # another node inserted the lease first


def release_lease(db: Database, *, name: str, holder: str) -> None:
    with db.write(actor=SCHEDULER_LEADERSHIP) as session:
        lease = session.get(SchedulerLeaseRow, name)
        if lease is not None and lease.holder == holder:
            session.delete(lease)
