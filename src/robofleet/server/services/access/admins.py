"""The account's administrators, and the rule that an account always keeps one.

An administrator is a user holding a role with `is_administrator` (the built-in
"Administrator" role: every right on every screen and folder). An active administrator is one
that is neither deleted nor blocked: the one who can still manage the account. Deleting,
blocking or taking the administrator role from the last active administrator would leave the
account with nobody to manage its users, roles and keys, so it is refused (409).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import AccountRow, RoleRow, UserRoleRow, UserRow
from robofleet.server.domain.errors import Conflict


def active_admin_ids(session: Session, account_id: int) -> set[int]:
    return set(
        session.scalars(
            select(UserRow.id)
            .join(UserRoleRow, UserRoleRow.user_id == UserRow.id)
            .join(RoleRow, RoleRow.id == UserRoleRow.role_id)
            .where(
                UserRow.account_id == account_id,
                UserRow.is_deleted.is_(False),
                UserRow.is_blocked.is_(False),
                RoleRow.is_deleted.is_(False),
                RoleRow.is_administrator.is_(True),
            )
        )
    )


def keep_an_admin(session: Session, user: UserRow, *, change: str) -> None:
    """Raise Conflict if `change` (about to delete, block or demote `user`) would leave the
    account without an active administrator. Call before making the change."""
    # One administrator change at a time per account: two admins demoting each other at once
    # must not both pass the count.
    session.scalar(select(AccountRow.id).where(AccountRow.id == user.account_id).with_for_update())
    admins = active_admin_ids(session, user.account_id)
    if admins == {user.id}:
        raise Conflict(
            f"cannot {change} user '{user.login}': it is the account's last active "
            "administrator; give another user the Administrator role first",
            code="last_admin",
        )
