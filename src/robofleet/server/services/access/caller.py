"""Who is calling: the authenticated principal plus where the call came from."""

from __future__ import annotations

from dataclasses import dataclass

from robofleet.server.db.audit import AuditActor
from robofleet.server.domain.errors import Forbidden
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.principals import Principal


@dataclass(frozen=True)
class Caller:
    principal: Principal
    address: str = ""
    user_agent: str = ""

    @property
    def account_id(self) -> int:
        return self.principal.account_id

    def require(self, screen: Screen, action: Action) -> None:
        if not self.principal.permissions.allows(screen, action):
            raise Forbidden(
                f"{self.principal.name} has no '{action.value}' right on {screen.value}; "
                "ask an administrator to grant it in a role",
                reason="missing_right",
            )

    def require_all(self, screen: Screen, action: Action) -> None:
        """The right on every object of the screen: listing all robots, say."""
        self.require(screen, action)
        if not self.principal.permissions.allows_all(screen, action):
            raise Forbidden(
                f"{self.principal.name} reaches only its own {screen.value} objects, "
                "not all of them",
                reason="own_objects_only",
            )

    @property
    def robot_id(self) -> int | None:
        """The calling robot's id when a robot's credentials call (its scope is itself)."""
        return self.principal.robot_id

    def sees_folder(self, folder_id: int | None) -> bool:
        folders = self.principal.folder_ids
        return folder_id is None or folders is None or folder_id in folders

    def actor(self) -> AuditActor:
        return AuditActor(
            kind=self.principal.kind,
            guid=self.principal.guid,
            name=self.principal.name,
            account_id=self.principal.account_id,
            address=self.address,
            user_agent=self.user_agent,
        )
