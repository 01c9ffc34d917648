"""Pure rules of robot credentials: what a robot's permission set allows, how its secret is
presented, and how the agent takes its secret."""

from __future__ import annotations

import base64

import pytest

from robofleet.contract import ROBOT_SECRET_PREFIX, JobEnv, robot_authorization
from robofleet.robot.config import AgentSettingsError, load_agent_settings
from robofleet.server.domain.permissions import ROBOT_PERMISSIONS, Action, PermissionSet, Screen

GUID = "3f2a8c1e-5b7d-4e9f-a1c2-0d3e4f5a6b7c"


def test_a_robot_reads_its_own_objects_but_never_all_of_them() -> None:
    for screen in (Screen.ROBOT, Screen.JOB, Screen.PROCESS_VERSION, Screen.LOG):
        assert ROBOT_PERMISSIONS.allows(screen, Action.READ)
        assert not ROBOT_PERMISSIONS.allows_all(screen, Action.READ)
    assert ROBOT_PERMISSIONS.allows_all(Screen.QUEUE, Action.READ)
    assert ROBOT_PERMISSIONS.allows_all(Screen.TASK, Action.CREATE)


@pytest.mark.parametrize(
    ("screen", "action"),
    [
        (Screen.ROBOT, Action.UPDATE),
        (Screen.ROBOT, Action.CREATE),
        (Screen.JOB, Action.CREATE),
        (Screen.JOB, Action.DELETE),
        (Screen.PROCESS, Action.READ),
        (Screen.USER, Action.READ),
        (Screen.ACCOUNT, Action.UPDATE),
        (Screen.API_KEY, Action.READ),
    ],
)
def test_a_robot_does_no_operators_work(screen: Screen, action: Action) -> None:
    assert not ROBOT_PERMISSIONS.allows(screen, action)


def test_full_rights_reach_all_objects() -> None:
    assert PermissionSet.full().allows_all(Screen.ROBOT, Action.READ)


def test_the_robot_authorization_header() -> None:
    bare = robot_authorization(GUID)
    assert bare == "Basic " + base64.b64encode(GUID.encode()).decode()  # Sherpa's
    assert robot_authorization(GUID, "") == bare
    secret = ROBOT_SECRET_PREFIX + "abc"
    scheme, _, value = robot_authorization(GUID, secret).partition(" ")
    assert (scheme, base64.b64decode(value).decode()) == ("Basic", f"{GUID}:{secret}")


def test_the_agent_takes_a_secret_and_never_shows_it() -> None:
    secret = ROBOT_SECRET_PREFIX + "x" * 43
    settings = load_agent_settings(server="http://s", robot_guid=GUID, robot_secret=secret)
    assert settings.secret == secret
    assert secret not in repr(settings) and secret not in str(settings.model_dump())
    assert load_agent_settings(server="http://s", robot_guid=GUID, robot_secret=" ").secret is None
    assert load_agent_settings(server="http://s", robot_guid=GUID).secret is None
    with pytest.raises(AgentSettingsError) as refused:
        load_agent_settings(server="http://s", robot_guid=GUID, robot_secret="wrong:value")
    assert JobEnv.ROBOT_SECRET in str(refused.value) and "wrong:value" not in str(refused.value)
