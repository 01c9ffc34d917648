"""The log screen's read: lines with their robots' names, only for a caller who may read
robots (and the robots in the folders the caller reaches)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy import select

from robofleet.server.db.tables import AccountRow
from robofleet.server.domain.permissions import Action, PermissionSet, Screen
from robofleet.server.schemas.logs import LogFilter
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.principals import account_key_principal
from robofleet.server.services.logs.reading import list_logs_named
from tests.service.conftest import Tenant
from tests.support.fleet import make_robot, robot_auth


def key_caller(tenant: Tenant) -> Caller:
    with tenant.service.runtime.db.read() as session:
        account = session.scalar(select(AccountRow).where(AccountRow.guid == tenant.guid))
        assert account is not None
        return Caller(account_key_principal(session, account.id, str(uuid.uuid4())))


def test_lines_come_with_their_robots_names_for_who_may_read_robots(tenant: Tenant) -> None:
    name = f"picker-{uuid.uuid4().hex[:6]}"
    robot = make_robot(tenant.api, name)
    with tenant.client(**robot_auth(robot)) as agent:
        written = agent.post("/api/log/batch", json={"Lines": [{"Message": "one"}]})
        assert written.status_code == 200, written.text
    tenant.api.post("/api/log/create", json={"Message": "no robot"}).raise_for_status()
    runtime = tenant.service.runtime
    admin = key_caller(tenant)

    named = list_logs_named(runtime, admin, LogFilter())
    by_message = {line.message: line for line in named.page.lines}
    assert set(by_message) == {"one", "no robot"}
    robot_id = by_message["one"].robot_id
    assert robot_id is not None
    assert named.robot_names == {robot_id: name}

    logs_only = PermissionSet(grants={Screen.LOG: frozenset({Action.READ})})
    reader = Caller(replace(admin.principal, permissions=logs_only))
    unnamed = list_logs_named(runtime, reader, LogFilter())
    assert {line.message for line in unnamed.page.lines} == {"one", "no robot"}
    assert unnamed.robot_names == {}


def test_robots_in_folders_the_caller_does_not_reach_keep_their_id(tenant: Tenant) -> None:
    folder = tenant.api.post("/api/accessFolder/create", json={"Name": "Hidden"})
    assert folder.status_code == 200, folder.text
    root_name, hidden_name = f"root-{uuid.uuid4().hex[:6]}", f"hidden-{uuid.uuid4().hex[:6]}"
    for robot in (
        make_robot(tenant.api, root_name),
        make_robot(tenant.api, hidden_name, Folder="Hidden"),
    ):
        with tenant.client(**robot_auth(robot)) as agent:
            agent.post("/api/log/batch", json=[{"Message": robot}]).raise_for_status()
    admin = key_caller(tenant)
    everything = list_logs_named(tenant.service.runtime, admin, LogFilter())
    assert set(everything.robot_names.values()) == {root_name, hidden_name}
    root_only = Caller(replace(admin.principal, folder_ids=frozenset()))
    confined = list_logs_named(tenant.service.runtime, root_only, LogFilter())
    assert len(confined.page.lines) == 2
    assert set(confined.robot_names.values()) == {root_name}
