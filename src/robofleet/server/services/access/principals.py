"""Turning a stored identity (key, user, robot) into a Principal with its rights."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import AccountRow, RoleFolderRow, RoleRow, UserRoleRow, UserRow
from robofleet.server.db.tables.robots import RobotRow
from robofleet.server.domain.errors import Forbidden, Unauthenticated
from robofleet.server.domain.permissions import (
    ROBOT_PERMISSIONS,
    Action,
    PermissionSet,
    Screen,
    parse_rights,
)
from robofleet.server.domain.principals import Principal


def live_account(session: Session, account_id: int) -> AccountRow:
    account = session.get(AccountRow, account_id)
    if account is None or account.is_deleted:
        raise Unauthenticated(
            "the account of these credentials was deleted", reason="account_deleted"
        )
    return account


def role_permissions(role: RoleRow) -> PermissionSet:
    if role.is_administrator:
        return PermissionSet.full()
    grants = {}
    for screen_name, rights in (role.permissions or {}).items():
        try:
            grants[Screen(screen_name)] = parse_rights(str(rights))
        except ValueError:
            continue  # a screen retired since the role was saved grants nothing
    return PermissionSet(grants=grants)


def user_principal(session: Session, user: UserRow, *, via_key: bool = False) -> Principal:
    if user.is_deleted:
        raise Unauthenticated("the user of these credentials was deleted", reason="user_deleted")
    if user.is_blocked:
        raise Forbidden(
            f"user '{user.login}' is blocked; an administrator can unblock it",
            reason="user_blocked",
        )
    account = live_account(session, user.account_id)
    roles = session.scalars(
        select(RoleRow)
        .join(UserRoleRow, UserRoleRow.role_id == RoleRow.id)
        .where(UserRoleRow.user_id == user.id, RoleRow.is_deleted.is_(False))
    ).all()
    permissions = PermissionSet.union(role_permissions(role) for role in roles)
    folder_ids: frozenset[int] | None
    if any(role.all_folders or role.is_administrator for role in roles):
        folder_ids = None
    else:
        folder_ids = frozenset(
            session.scalars(
                select(RoleFolderRow.folder_id).where(
                    RoleFolderRow.role_id.in_([role.id for role in roles])
                )
            ).all()
        )
    return Principal(
        kind="user_key" if via_key else "user",
        account_id=account.id,
        account_guid=account.guid,
        guid=user.guid,
        name=user.login,
        permissions=permissions,
        folder_ids=folder_ids,
        user_id=user.id,
        can_manage_accounts=account.can_create_accounts
        and permissions.allows(Screen.ACCOUNT, Action.CREATE),
    )


def account_key_principal(session: Session, account_id: int, key_guid: str) -> Principal:
    account = live_account(session, account_id)
    return Principal(
        kind="account_key",
        account_id=account.id,
        account_guid=account.guid,
        guid=key_guid,
        name=f"API key of account '{account.login}'",
        permissions=PermissionSet.full(),
        can_manage_accounts=account.can_create_accounts,
    )


def robot_principal(session: Session, robot: RobotRow, *, with_secret: bool) -> Principal:
    """`with_secret`: the robot presented its secret, not only its GUID."""
    account = live_account(session, robot.account_id)
    if not with_secret and account.require_robot_secret:
        raise Unauthenticated(
            "this account requires robots to send their secret with their GUID: "
            "'Authorization: Basic base64(<robot GUID>:<robot secret>)'",
            reason="robot_secret_required",
        )
    return robot_principal_of(account.id, account.guid, robot.id, robot.guid, robot.name)


def robot_principal_of(
    account_id: int, account_guid: str, robot_id: int, robot_guid: str, robot_name: str
) -> Principal:
    """A robot's principal once its credentials and account have passed (robot_principal's
    checks, or lean_auth's)."""
    return Principal(
        kind="robot",
        account_id=account_id,
        account_guid=account_guid,
        guid=robot_guid,
        name=f"robot '{robot_name}'",
        permissions=ROBOT_PERMISSIONS,
        robot_id=robot_id,
    )
