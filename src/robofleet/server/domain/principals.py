"""Who a credential is and what it may do: plain data, built from rows by services.access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from robofleet.server.domain.permissions import PermissionSet

PrincipalKind = Literal["account_key", "user_key", "user", "robot", "system"]


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    account_id: int
    account_guid: str
    guid: str
    name: str
    permissions: PermissionSet
    folder_ids: frozenset[int] | None = None
    """Access folders this principal reaches; None means every folder."""
    user_id: int | None = None
    robot_id: int | None = None
    can_manage_accounts: bool = False
