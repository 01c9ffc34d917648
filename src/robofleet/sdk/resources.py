"""Resources from inside a job: text values, credentials and calendars by name.

Inside a robot the server resolves a name for the robot's scope: its own resource, else its
group's, else the one for all robots. Standard library only.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import quote

from robofleet.calendars import Calendar
from robofleet.contract import Api
from robofleet.sdk.http import RobofleetError, call


class Credential(NamedTuple):
    """A credential resource; unpacks as `login, password = sdk.get_credential(name)`."""

    login: str
    password: str


def _read(name: str) -> dict[str, Any]:
    row: dict[str, Any] = call("GET", Api.ASSET_READ.format(guid=quote(name, safe="")))
    return row


def get_text(name: str) -> str:
    """The value of a text resource (or a credential's login, or a calendar's JSON)."""
    return str(_read(name)["text"])


def set_text(name: str, value: str) -> None:
    """Set a text resource's value; if none by that name is in reach, create one (inside a
    robot, for that robot alone)."""
    try:
        call("PUT", Api.ASSET_UPDATE, {"Guid": name, "Text": value})
    except RobofleetError as exc:
        if exc.status != 404:
            raise
        call("POST", Api.ASSET_CREATE, {"Name": name, "Type": 2, "Text": value})


def get_credential(name: str) -> Credential:
    """(login, password) of a credential resource."""
    row = _read(name)
    return Credential(login=str(row["text"]), password=str(row["password"] or ""))


def get_calendar(name: str) -> Calendar:
    """A calendar resource, with is_working_day(d), next_working_day(d),
    nth_working_day(year, month, n) and count_working_days(start, end)."""
    return Calendar.from_json(str(_read(name)["text"]))
