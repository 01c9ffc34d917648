"""A robot's credentials without the ORM (services.access.lean_auth) let in the robot that
auth's session path lets in, on both stores and on PostgreSQL's driver pool; every other case
is left to the session path (None), which answers with its own errors."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from robofleet.contract import robot_authorization
from robofleet.server.db.system_actors import FIRST_START
from robofleet.server.db.tables import AccountRow, ApiKeyRow
from robofleet.server.domain.errors import RobofleetError
from robofleet.server.domain.principals import Principal
from robofleet.server.runtime.security import hash_api_key
from robofleet.server.services.access import auth
from robofleet.server.services.access.credential_forms import Credentials
from robofleet.server.services.access.lean_auth import authenticate_on_driver, lean_authenticate
from tests.service.conftest import Service, Tenant, make_tenant
from tests.support.fleet import make_robot

Lean = Callable[[Credentials], Principal | None]


def leans(service: Service) -> list[Lean]:
    """The lean lookups of this store: on a bare connection, and on the pool where there is one
    (which then caches the principal as auth does)."""
    runtime = service.runtime
    found: list[Lean] = [lambda credentials: lean_authenticate(runtime.db, credentials)]
    if runtime.driver_pool is not None:
        portal = service.admin.portal
        assert portal is not None
        found.append(lambda credentials: portal.call(authenticate_on_driver, runtime, credentials))
    return found


def session_path(service: Service, credentials: Credentials) -> Principal | str:
    """What auth's ORM lookup answers: the principal, or the code of its refusal."""
    try:
        return auth._authenticate(service.runtime.db, service.runtime.tokens, credentials)
    except RobofleetError as refused:
        return refused.code


def basic(text: str) -> Credentials:
    return Credentials(None, "Basic " + base64.b64encode(text.encode()).decode())


def issue_secret(tenant: Tenant, robot: str) -> str:
    issued = tenant.api.post("/api/robot/issueSecret", json={"Guid": robot})
    assert issued.status_code == 200, issued.text
    return str(issued.json()["Secret"])


def test_a_robots_guid_alone_or_with_its_secret_lets_in_what_the_session_path_does(
    store_tenant: Tenant,
) -> None:
    service = store_tenant.service
    robot = make_robot(store_tenant.api, "lean-auth")
    secret = issue_secret(store_tenant, robot)
    forms = [
        Credentials(None, robot_authorization(robot)),
        Credentials(None, robot_authorization(robot, secret)),
        basic(robot.upper()),  # a GUID is read case-blind, as the session path reads it
        basic(f"{robot}:"),  # `<GUID>:` with no password is the GUID alone
        Credentials(None, "basic " + base64.b64encode(robot.encode()).decode().rstrip("=")),
    ]
    for credentials in forms:
        expected = session_path(service, credentials)
        assert isinstance(expected, Principal) and expected.guid == robot
        assert expected.name == "robot 'lean-auth'"
        for lean in leans(service):
            assert lean(credentials) == expected, credentials


def test_every_other_case_is_left_to_the_session_path(store_service: Service) -> None:
    service = store_service
    tenant = make_tenant(service)
    robot = make_robot(tenant.api)
    secret = issue_secret(tenant, robot)
    strict = make_tenant(service)
    strict_robot = make_robot(strict.api)
    assert strict.api.put(
        "/api/account/update", json={"Guid": strict.guid, "RequireRobotSecret": True}
    ).is_success
    keyed = make_robot(tenant.api)
    gone = make_tenant(service)
    gone_robot = make_robot(gone.api)
    with service.runtime.db.write(actor=FIRST_START) as session:
        # An API key whose value is a robot's GUID: the key comes first.
        account = session.scalars(select(AccountRow).where(AccountRow.guid == tenant.guid)).one()
        session.add(ApiKeyRow(account_id=account.id, key_hash=hash_api_key(keyed), key_hint="x"))
        session.execute(
            update(AccountRow).where(AccountRow.guid == gone.guid).values(is_deleted=True)
        )

    refused = {
        "no such robot": (basic(str(uuid.uuid4())), "invalid_credentials"),
        "a wrong secret": (
            Credentials(None, robot_authorization(robot, secret + "x")),
            "wrong_robot_secret",
        ),
        "a secret the account requires": (
            Credentials(None, robot_authorization(strict_robot)),
            "robot_secret_required",
        ),
        "a deleted account": (
            Credentials(None, robot_authorization(gone_robot)),
            "account_deleted",
        ),
        "a login and password": (basic("someone:password-1"), "invalid_credentials"),
        "not base64": (Credentials(None, "Basic ***"), "malformed_credentials"),
        "not a UUID": (basic("robot-7"), "malformed_credentials"),
    }
    for case, (credentials, reason) in refused.items():
        assert session_path(service, credentials) == reason, case
        for lean in leans(service):
            assert lean(credentials) is None, case
    others = {
        "the same value as an API key": Credentials(None, robot_authorization(keyed)),
        "a Key header": Credentials(robot, None),
        "a Bearer GUID": Credentials(None, f"Bearer {robot}"),
    }
    for case, credentials in others.items():
        assert isinstance(session_path(service, credentials), Principal), case
        for lean in leans(service):
            assert lean(credentials) is None, case


@pytest.mark.parametrize("cached", [False, True])
def test_a_robots_first_call_is_answered_by_the_lean_lookup(
    store_tenant: Tenant, cached: bool
) -> None:
    """Through the app: the first call of a robot is let in (its principal then cached) with
    no ORM session (a robot's heartbeat begins none on either store), on PostgreSQL by one
    statement on the driver pool for the lookup."""
    service = store_tenant.service
    robot = make_robot(store_tenant.api)
    credentials = Credentials(None, robot_authorization(robot))
    service.runtime.principals.invalidate()
    if cached:
        assert auth.authenticate(service.runtime, credentials).guid == robot
    pool = service.runtime.driver_pool
    before = (pool.statements, pool.lookups) if pool is not None else (0, 0)
    sessions: list[object] = []
    detach = service.runtime.db.listen("after_begin", lambda *args: sessions.append(args))
    try:
        client = service.client(Authorization=robot_authorization(robot))
        beat = client.post("/api/robot/heartbeat", json={"RobotGUID": robot, "Status": 1})
    finally:
        detach()
    assert beat.status_code == 200, beat.text
    assert sessions == []
    assert auth.cached_principal(service.runtime, credentials) is not None
    if pool is not None:
        # The heartbeat's own statement, and the lookup unless the principal was cached.
        ran = (pool.statements - before[0], pool.lookups - before[1])
        assert ran == (1, 0 if cached else 1)
