"""Screens (the seed's tabs plus the administration screens) and the four rights on each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Screen(StrEnum):
    """A screen of the product; roles grant create/read/update/delete on each.

    Order follows the Sherpa API page's tabs, then the administration screens.
    """

    API_KEY = "api_key"
    ROBOT = "robot"
    ROBOT_GROUP = "robot_group"
    PROCESS = "process"
    PROCESS_VERSION = "process_version"
    JOB = "job"
    QUEUE = "queue"
    TASK = "task"
    TRIGGER = "trigger"
    RESOURCE = "resource"
    STORAGE = "storage"
    LOG = "log"
    ACCOUNT = "account"
    USER = "user"
    ROLE = "role"
    ACCESS_FOLDER = "access_folder"
    AUDIT = "audit"


class Action(StrEnum):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"


ACTION_LETTERS: Mapping[str, Action] = {
    "c": Action.CREATE,
    "r": Action.READ,
    "u": Action.UPDATE,
    "d": Action.DELETE,
}


def parse_rights(text: str) -> frozenset[Action]:
    """Parse a rights string such as "crud" or "r"; raise ValueError naming the bad letter."""
    rights: set[Action] = set()
    for letter in text.lower():
        if letter not in ACTION_LETTERS:
            raise ValueError(f"unknown right '{letter}'; use letters from 'crud'")
        rights.add(ACTION_LETTERS[letter])
    return frozenset(rights)


@dataclass(frozen=True)
class PermissionSet:
    """Rights per screen. `everything` short-cuts the table for administrators and keys."""

    grants: Mapping[Screen, frozenset[Action]]
    everything: bool = False
    own_only: frozenset[Screen] = frozenset()
    """Screens whose rights reach only the principal's own objects (a robot's own row, jobs,
    packages and logs): lookups there are confined to them, and listing all is refused."""

    def allows(self, screen: Screen, action: Action) -> bool:
        return self.everything or action in self.grants.get(screen, frozenset())

    def allows_all(self, screen: Screen, action: Action) -> bool:
        """The right on every object of the screen, not only the principal's own."""
        return self.allows(screen, action) and screen not in self.own_only

    @classmethod
    def full(cls) -> PermissionSet:
        return cls(grants={}, everything=True)

    @classmethod
    def union(cls, sets: Iterable[PermissionSet]) -> PermissionSet:
        merged: dict[Screen, frozenset[Action]] = {}
        for item in sets:
            if item.everything:
                return cls.full()
            for screen, actions in item.grants.items():
                merged[screen] = merged.get(screen, frozenset()) | actions
        return cls(grants=merged)


ROBOT_PERMISSIONS = PermissionSet(
    grants={
        Screen.ROBOT: frozenset({Action.READ}),
        Screen.PROCESS_VERSION: frozenset({Action.READ}),
        Screen.JOB: frozenset({Action.READ, Action.UPDATE}),
        Screen.QUEUE: frozenset({Action.READ}),
        Screen.TASK: frozenset(Action),
        Screen.RESOURCE: frozenset({Action.CREATE, Action.READ, Action.UPDATE}),
        Screen.STORAGE: frozenset(Action),
        Screen.LOG: frozenset({Action.CREATE, Action.READ}),
    },
    own_only=frozenset({Screen.ROBOT, Screen.PROCESS_VERSION, Screen.JOB, Screen.LOG}),
)
"""What a robot may do: run its own work, not act as another robot nor administer the account.
Its own row, its own jobs, the packages of those jobs and their logs; the account's queues
and tasks (robots share queue work). A robot's GUID is a credential, so no robot learns
another's."""
