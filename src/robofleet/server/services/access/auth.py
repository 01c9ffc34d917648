"""Authentication: the `Key` header, Bearer and Basic authorization, and user login."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from robofleet.server.db.audit import AuditActor, record_event
from robofleet.server.db.base import utcnow
from robofleet.server.db.session import Database
from robofleet.server.db.system_actors import LOGIN
from robofleet.server.db.tables import ApiKeyRow, UserRow
from robofleet.server.db.tables.robots import RobotRow
from robofleet.server.domain.errors import Forbidden, Unauthenticated
from robofleet.server.domain.principals import Principal
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.security import (
    IssuedToken,
    TokenCodec,
    hash_api_key,
    normalize_api_key,
    robot_secret_matches,
    verify_password,
)
from robofleet.server.services.access.credential_forms import (
    Credentials,
    basic_form,
    decode_base64,
    robot_and_secret,
    scheme_and_value,
)
from robofleet.server.services.access.lean_auth import lean_authenticate
from robofleet.server.services.access.login_limits import check_login_attempts
from robofleet.server.services.access.principals import (
    account_key_principal,
    robot_principal,
    user_principal,
)

MISSING = (
    "no credentials: send 'Key: <api key>', 'Authorization: Bearer <token>' or "
    "'Authorization: Basic <base64 of api key, robot GUID or robot GUID:secret>'"
)


def cached_principal(runtime: Runtime, credentials: Credentials) -> Principal | None:
    return runtime.principals.get(credentials.cache_key)


def authenticate(runtime: Runtime, credentials: Credentials) -> Principal:
    """Resolve request credentials to a principal, or raise Unauthenticated/Forbidden."""
    cache = runtime.principals
    hit = cache.get(credentials.cache_key)
    if hit is not None:
        return hit
    generation = cache.generation
    # A robot's lean lookup: here on SQLite; on PostgreSQL the front (api.fast) runs it on
    # the driver pool before it comes here, and FastAPI's routes go by the ORM.
    lean = lean_authenticate(runtime.db, credentials) if runtime.driver_pool is None else None
    principal = lean or _authenticate(runtime.db, runtime.tokens, credentials)
    cache.put(
        credentials.cache_key,
        principal,
        generation=generation,
        expires_at=_token_expiry(runtime.tokens, credentials),
    )
    return principal


def _token_expiry(codec: TokenCodec, credentials: Credentials) -> float | None:
    scheme, value = scheme_and_value(credentials.authorization or "")
    if scheme.lower() == "bearer" and value.count(".") == 2:
        return float(codec.decode(value)["exp"])
    return None


def _authenticate(db: Database, codec: TokenCodec, credentials: Credentials) -> Principal:
    if credentials.key_header:
        with db.read() as session:
            return _by_secret_guid(session, credentials.key_header, source="the Key header")
    if not credentials.authorization:
        raise Unauthenticated(MISSING, reason="missing_credentials")
    scheme, value = scheme_and_value(credentials.authorization)
    if scheme.lower() == "bearer" and value:
        return _bearer(db, codec, value)
    if scheme.lower() == "basic" and value:
        return _basic(db, value)
    raise Unauthenticated(
        f"the Authorization scheme '{scheme}' is not supported; use Bearer or Basic",
        reason="unsupported_scheme",
    )


def _bearer(db: Database, codec: TokenCodec, token: str) -> Principal:
    if token.count(".") == 2:
        claims = codec.decode(token)
        with db.read() as session:
            # Tokens issued before `uid` existed named the user's GUID in `sub`.
            user_guid = claims.get("uid") or claims["sub"]
            user = session.scalar(select(UserRow).where(UserRow.guid == user_guid))
            if user is None:
                raise Unauthenticated(
                    "the user of this token no longer exists", reason="user_deleted"
                )
            return user_principal(session, user)
    text = token if normalize_api_key(token) else decode_base64(token, "Bearer")
    with db.read() as session:
        robot_guid, secret = robot_and_secret(text)
        if secret:
            return _by_robot_secret(session, robot_guid, secret)
        return _by_secret_guid(session, text, source="the Bearer token")


def _basic(db: Database, value: str) -> Principal:
    form = basic_form(decode_base64(value, "Basic"))
    with db.read() as session:
        if form.secret:
            return _by_robot_secret(session, form.robot_guid, form.secret)
        if form.password:
            return _by_password(session, form.login, form.password)
        return _by_secret_guid(session, form.value, source="the Basic credentials")


def _by_robot_secret(session: Session, robot_guid: str, secret: str) -> Principal:
    robot = session.scalar(
        select(RobotRow).where(RobotRow.guid == robot_guid, RobotRow.is_deleted.is_(False))
    )
    if robot is None:
        raise Unauthenticated("the Basic credentials match no robot", reason="invalid_credentials")
    if not robot_secret_matches(robot.secret_hash, secret):
        raise Unauthenticated(
            f"the secret of robot {robot.guid} is wrong; an operator can issue a new one "
            "(/api/robot/issueSecret)",
            reason="wrong_robot_secret",
        )
    return robot_principal(session, robot, with_secret=True)


def _by_secret_guid(session: Session, text: str, *, source: str) -> Principal:
    """An API key or a robot GUID: both are UUIDs; keys are looked up by hash."""
    key = normalize_api_key(text)
    if key is None:
        raise Unauthenticated(
            f"{source} is not a UUID; it must carry an API key or a robot GUID",
            reason="malformed_credentials",
        )
    row = session.scalar(
        select(ApiKeyRow).where(
            ApiKeyRow.key_hash == hash_api_key(key), ApiKeyRow.revoked_at.is_(None)
        )
    )
    if row is not None:
        if row.user_id is None:
            return account_key_principal(session, row.account_id, row.guid)
        user = session.get(UserRow, row.user_id)
        if user is None:
            raise Unauthenticated(
                "the owner of this API key no longer exists", reason="user_deleted"
            )
        return user_principal(session, user, via_key=True)
    robot = session.scalar(
        select(RobotRow).where(RobotRow.guid == key, RobotRow.is_deleted.is_(False))
    )
    if robot is not None:
        return robot_principal(session, robot, with_secret=False)
    raise Unauthenticated(
        f"{source} matches no API key or robot; the key may have been rotated",
        reason="invalid_credentials",
    )


def _by_password(session: Session, login: str, password: str) -> Principal:
    user = find_user_by_login(session, login)
    if user is None or not verify_password(user.password_hash, password):
        raise Unauthenticated("wrong login or password", reason="invalid_credentials")
    return user_principal(session, user)


def find_user_by_login(session: Session, login: str) -> UserRow | None:
    return session.scalar(
        select(UserRow).where(
            func.lower(UserRow.login) == login.strip().lower(), UserRow.is_deleted.is_(False)
        )
    )


@dataclass(frozen=True)
class SignedIn:
    """A user whose password was right: who, for a token or a web session."""

    user_id: int
    user_guid: str
    login: str
    account_id: int
    principal: Principal


def login(
    runtime: Runtime,
    *,
    login_name: str,
    password: str | None,
    ttl_seconds: int,
    address: str = "",
    user_agent: str = "",
) -> IssuedToken:
    """Check a password and issue a login token (services.access.auth.sign_in's rules)."""
    signed_in = sign_in(
        runtime, login_name=login_name, password=password, address=address, user_agent=user_agent
    )
    roles = "ROLE_ADMIN," if signed_in.principal.permissions.everything else "ROLE_INTEGRATION,"
    return runtime.tokens.issue(
        user_guid=signed_in.user_guid,
        account_guid=signed_in.principal.account_guid,
        login=signed_in.login,
        ttl_seconds=ttl_seconds,
        roles=roles,
    )


def sign_in(
    runtime: Runtime,
    *,
    login_name: str,
    password: str | None,
    address: str = "",
    user_agent: str = "",
) -> SignedIn:
    """Check a password: the API's login and the web application's sign-in both come here,
    so they share the brute-force limit (login_limits) and the audit of every attempt. A
    password of None (one the client sent unreadably) fails like a wrong one."""
    check_login_attempts(runtime, login_name, address)
    failure: Unauthenticated | Forbidden | None = None
    signed_in: SignedIn | None = None
    with runtime.db.write(actor=LOGIN) as session:
        user = find_user_by_login(session, login_name)
        actor = AuditActor(
            kind="user",
            guid=user.guid if user else None,
            name=login_name[:256],
            account_id=user.account_id if user else None,
            address=address[:64],
            user_agent=user_agent,
        )
        if user is None or password is None or not verify_password(user.password_hash, password):
            failure = Unauthenticated("wrong login or password", reason="invalid_credentials")
        else:
            try:
                principal = user_principal(session, user)
                signed_in = SignedIn(user.id, user.guid, user.login, user.account_id, principal)
            except (Unauthenticated, Forbidden) as exc:
                failure = exc
        if signed_in is None or user is None:
            record_event(
                session,
                actor,
                action="login_failed",
                object_type="user",
                object_guid=user.guid if user else None,
                message=f"failed login as '{login_name[:256]}': "
                f"{failure.message if failure else ''}",
            )
        else:
            session.execute(
                update(UserRow).where(UserRow.id == user.id).values(last_login_at=utcnow())
            )
            record_event(
                session,
                actor,
                action="login",
                object_type="user",
                object_guid=user.guid,
                message=f"login as '{user.login}'",
            )
    if failure is not None or signed_in is None:
        raise failure or Unauthenticated("wrong login or password", reason="invalid_credentials")
    return signed_in
