"""A robot's credentials resolved without the ORM: the common first contact, in one statement.

Robot calls authenticate from the principal cache; a miss (every robot's first call after a
start, then one per robot every 150-300 s) took three ORM reads on the front's threads (API
key, robot, account: 0.56 ms of CPU). When a large fleet meets a freshly started server, all
its robots miss at once, and those lookups were what kept the server saturated for its first
seconds (with the credentials looked up beforehand, the same start held).

Here the robot's forms, `Authorization: Basic base64(<robot GUID>)` and `Basic
base64(<robot GUID>:<robot secret>)`, are one statement on the bare driver (on PostgreSQL's
async pool, from the event loop). Every outcome but a robot let in returns None, and auth's
session path decides with its own errors: another form, no such robot, an API key with that
value (a key comes first), a deleted account, a wrong secret, a secret the account requires
and the robot did not send.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, false, func, select
from sqlalchemy.engine import Dialect

from robofleet.server.db.driver import driver_read
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.session import Database
from robofleet.server.db.tables import AccountRow, ApiKeyRow
from robofleet.server.db.tables.robots import RobotRow
from robofleet.server.domain.errors import Unauthenticated
from robofleet.server.domain.principals import Principal
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.security import (
    hash_api_key,
    normalize_api_key,
    robot_secret_matches,
)
from robofleet.server.services.access.credential_forms import (
    Credentials,
    basic_form,
    decode_base64,
    scheme_and_value,
)
from robofleet.server.services.access.principals import robot_principal_of


def robot_basic(credentials: Credentials) -> tuple[str, str] | None:
    """(robot GUID, its secret or "") that Basic credentials name (credential_forms.basic_form,
    as auth's `_basic` reads them); None for any other form (a login and password, a Bearer
    token, `Key`)."""
    if credentials.key_header or not credentials.authorization:
        return None
    scheme, value = scheme_and_value(credentials.authorization)
    if scheme.lower() != "basic" or not value:
        return None
    try:
        text = decode_base64(value, "Basic")
    except Unauthenticated:
        return None
    form = basic_form(text)
    if form.secret:
        return form.robot_guid, form.secret
    if form.password:
        return None
    key = normalize_api_key(form.value)
    return (key, "") if key is not None else None


def _query() -> Select[Any]:
    keys = (
        select(func.count())
        .select_from(ApiKeyRow)
        .where(ApiKeyRow.key_hash == bindparam("p_key_hash"), ApiKeyRow.revoked_at.is_(None))
        .scalar_subquery()
    )
    return (
        select(
            RobotRow.id,
            RobotRow.guid,
            RobotRow.name,
            RobotRow.secret_hash,
            AccountRow.id,
            AccountRow.guid,
            AccountRow.is_deleted,
            AccountRow.require_robot_secret,
            keys,
        )
        .join_from(RobotRow, AccountRow, AccountRow.id == RobotRow.account_id)
        .where(RobotRow.guid == bindparam("p_guid"), RobotRow.is_deleted == false())
    )


@cache
def _statement(dialect: Dialect) -> PreparedStatement:
    return PreparedStatement(_query(), dialect)


def _values(guid: str, secret: str) -> dict[str, Any]:
    # With a secret the value is no API key (auth's `_by_robot_secret` does not ask).
    return {"p_guid": guid, "p_key_hash": "" if secret else hash_api_key(guid)}


def _let_in(rows: list[tuple[Any, ...]], secret: str) -> Principal | None:
    if not rows:
        return None
    robot_id, guid, name, secret_hash, account_id, account_guid, gone, requires, keys = rows[0]
    if gone:
        return None
    if secret:
        if not robot_secret_matches(secret_hash, secret):
            return None
    elif keys or requires:
        return None
    return robot_principal_of(account_id, account_guid, robot_id, guid, name)


def lean_authenticate(db: Database, credentials: Credentials) -> Principal | None:
    """The robot these credentials let in, on a bare driver connection; None: auth decides."""
    named = robot_basic(credentials)
    if named is None:
        return None
    with driver_read(db) as connection:
        rows = _statement(db.engine.dialect).run(connection, _values(*named))
    return _let_in(rows, named[1])


async def authenticate_on_driver(runtime: Runtime, credentials: Credentials) -> Principal | None:
    """lean_authenticate on PostgreSQL's async driver pool, the principal then cached as auth
    caches it; None without a pool (SQLite) or where auth decides."""
    pool = runtime.driver_pool
    named = robot_basic(credentials) if pool is not None else None
    if pool is None or named is None:
        return None
    generation = runtime.principals.generation
    rows = await pool.run(_statement(runtime.db.engine.dialect), _values(*named), lookup=True)
    principal = _let_in(rows, named[1])
    if principal is not None:
        runtime.principals.put(credentials.cache_key, principal, generation=generation)
    return principal
