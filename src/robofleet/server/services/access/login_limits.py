"""The brute-force limit on password checks, shared by the API's login and the web sign-in.

It counts the failed attempts the audit trail already records (action `login_failed`), so
every server node sees the same count and a restart forgets nothing. Two limits: failures
for one login name from one address (someone guessing one user's password), and failures
from one address whatever the name (someone trying many users). A refused attempt is not
checked at all, so it cannot succeed and is not counted again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import AuditRow
from robofleet.server.domain.errors import RateLimited
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.rate_limit import retry_after_seconds


def check_login_attempts(runtime: Runtime, login_name: str, address: str) -> None:
    """Raise RateLimited (429 with Retry-After) while too many recent attempts failed."""
    settings = runtime.settings
    window = timedelta(seconds=settings.login_failure_window_seconds)
    since = utcnow() - window
    failed = AuditRow.action == "login_failed"
    with runtime.db.read() as session:
        by_name = session.execute(
            select(func.count(), func.min(AuditRow.at)).where(
                failed,
                AuditRow.actor_name == login_name[:256],
                AuditRow.address == address[:64],
                AuditRow.at > since,
            )
        ).one()
        by_address = session.execute(
            select(func.count(), func.min(AuditRow.at)).where(
                failed, AuditRow.address == address[:64], AuditRow.at > since
            )
        ).one()
    for (count, oldest), limit in (
        (by_name, settings.login_max_failures),
        (by_address, settings.login_max_failures_per_address),
    ):
        if count >= limit:
            # Allowed again once the oldest counted failure leaves the window.
            wait = (oldest + window - utcnow()).total_seconds()
            raise RateLimited(
                f"too many failed logins ({count} in {window.seconds // 60} minutes); "
                f"try again in {retry_after_seconds(wait)} seconds",
                retry_after=retry_after_seconds(wait),
            )
