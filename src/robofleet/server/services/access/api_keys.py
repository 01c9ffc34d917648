"""The API Key tab: assign a new key or refresh (rotate) the current one.

An account has one current key (full rights in the account); a user may also hold a personal
key that carries that user's roles. A new key replaces the old one at once, and the key
itself is shown only in the response that issues it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.audit import record_event
from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import ApiKeyRow, UserRow
from robofleet.server.domain.errors import Conflict, Forbidden, InvalidInput
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.security import (
    hash_api_key,
    key_hint,
    new_api_key,
    normalize_api_key,
)
from robofleet.server.schemas.identity import (
    ApiKeyAssign,
    ApiKeyIssued,
    ApiKeyRead,
    ApiKeyRefresh,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find


def _owner(session: Session, caller: Caller, user_ref: int | str | None) -> UserRow | None:
    """Whose key is meant; a user may always manage their own, others need the right."""
    if user_ref is None:
        if not caller.principal.permissions.everything:
            raise Forbidden(
                "only an account administrator may replace the account's API key",
                reason="missing_right",
            )
        return None
    user = find(session, UserRow, caller, user_ref, entity="user", name_attr="login", field="User")
    if user.id != caller.principal.user_id:
        caller.require(Screen.API_KEY, Action.UPDATE)
        caller.require(Screen.USER, Action.UPDATE)
    return user


def _current(session: Session, caller: Caller, user: UserRow | None) -> ApiKeyRow | None:
    owner = ApiKeyRow.user_id == user.id if user else ApiKeyRow.user_id.is_(None)
    return session.scalar(
        select(ApiKeyRow).where(
            ApiKeyRow.account_id == caller.account_id, owner, ApiKeyRow.revoked_at.is_(None)
        )
    )


def _issue(
    session: Session, caller: Caller, user: UserRow | None, key: str, action: str
) -> ApiKeyIssued:
    old = _current(session, caller, user)
    if old is not None:
        old.revoked_at = utcnow()
    if session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.key_hash == hash_api_key(key))):
        raise Conflict("that key has been used before; choose a new UUID", code="key_reused")
    row = ApiKeyRow(
        account_id=caller.account_id,
        user_id=user.id if user else None,
        key_hash=hash_api_key(key),
        key_hint=key_hint(key),
    )
    session.add(row)
    session.flush()
    scope = "user" if user else "account"
    record_event(
        session,
        caller.actor(),
        action=action,
        object_type="api_key",
        object_guid=row.guid,
        message=f"{action} the {scope} API key" + (f" of '{user.login}'" if user else ""),
    )
    return ApiKeyIssued(key=key, hint=row.key_hint, scope=scope, guid=row.guid)


def assign_key(runtime: Runtime, caller: Caller, data: ApiKeyAssign) -> ApiKeyIssued:
    key = new_api_key()
    if data.key:
        chosen = normalize_api_key(data.key)
        if chosen is None:
            raise InvalidInput.for_field("Key", "must be a UUID, or omitted to generate one")
        key = chosen
    with runtime.db.write(actor=caller.actor()) as session:
        return _issue(session, caller, _owner(session, caller, data.user), key, "assign")


def refresh_key(runtime: Runtime, caller: Caller, data: ApiKeyRefresh) -> ApiKeyIssued:
    with runtime.db.write(actor=caller.actor()) as session:
        user = _owner(session, caller, data.user)
        if _current(session, caller, user) is None:
            raise Conflict(
                "there is no current key to refresh; assign one first", code="no_current_key"
            )
        return _issue(session, caller, user, new_api_key(), "refresh")


def read_keys(runtime: Runtime, caller: Caller) -> list[ApiKeyRead]:
    """The current keys visible to the caller, without the keys themselves."""
    caller.require(Screen.API_KEY, Action.READ)
    with runtime.db.read() as session:
        query = (
            select(ApiKeyRow, UserRow.guid)
            .outerjoin(UserRow, UserRow.id == ApiKeyRow.user_id)
            .where(ApiKeyRow.account_id == caller.account_id, ApiKeyRow.revoked_at.is_(None))
            .order_by(ApiKeyRow.id)
        )
        if not caller.principal.permissions.everything:
            query = query.where(ApiKeyRow.user_id == caller.principal.user_id)
        return [
            ApiKeyRead(
                guid=row.guid,
                scope="user" if row.user_id else "account",
                user_guid=user_guid,
                hint=row.key_hint,
                created_at=row.created_at,
            )
            for row, user_guid in session.execute(query)
        ]
