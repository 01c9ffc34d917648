"""Web sessions: a signed-in browser's cookie, its idle timeout and its CSRF token.

The cookie holds a random token; the database holds its SHA-256, so a copy of the table
signs nobody in, and every node sees a sign-out at once. A session ends after
settings.web_idle_timeout_minutes without a request; its last use is written at most once
a minute, so browsing costs one indexed read per page.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from robofleet.server.db.audit import record_event
from robofleet.server.db.base import utcnow
from robofleet.server.db.system_actors import WEB_SESSIONS
from robofleet.server.db.tables import UserRow, WebSessionRow
from robofleet.server.domain.errors import Forbidden, Unauthenticated
from robofleet.server.domain.principals import Principal
from robofleet.server.runtime import Runtime
from robofleet.server.services.access.auth import SignedIn
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.principals import user_principal

TOUCH_EVERY: Final = timedelta(seconds=60)


@dataclass(frozen=True)
class WebSession:
    token: str
    csrf_token: str
    user_guid: str
    login: str
    principal: Principal


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_web_session(
    runtime: Runtime, signed_in: SignedIn, *, address: str, user_agent: str
) -> WebSession:
    """A new session for a user whose password was just checked (auth.sign_in)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    idle = timedelta(minutes=runtime.settings.web_idle_timeout_minutes)
    with runtime.db.write(actor=WEB_SESSIONS) as session:
        # Sessions left to expire (a closed browser never signs out) go at the next sign-in,
        # so the table holds only live ones.
        session.execute(delete(WebSessionRow).where(WebSessionRow.last_seen_at < now - idle))
        session.add(
            WebSessionRow(
                token_hash=_hash(token),
                user_id=signed_in.user_id,
                account_id=signed_in.account_id,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                address=address[:64],
                user_agent=user_agent[:512],
            )
        )
    return WebSession(token, csrf, signed_in.user_guid, signed_in.login, signed_in.principal)


def resume_web_session(runtime: Runtime, token: str) -> WebSession | None:
    """The session a cookie names, or None when it is unknown, idle too long, or its user is
    gone or blocked (the session is ended then)."""
    if not token or len(token) > 128:
        return None
    token_hash = _hash(token)
    idle = timedelta(minutes=runtime.settings.web_idle_timeout_minutes)
    now = utcnow()
    with runtime.db.read() as session:
        found = session.execute(
            select(WebSessionRow, UserRow)
            .join(UserRow, UserRow.id == WebSessionRow.user_id)
            .where(WebSessionRow.token_hash == token_hash)
        ).one_or_none()
        if found is None:
            return None
        row, user = found
        last_seen: datetime = row.last_seen_at
        csrf = row.csrf_token
        principal: Principal | None = None
        if now - last_seen <= idle:
            principal = _principal(runtime, session, user, token_hash)
    if principal is None:
        _end(runtime, token_hash)
        return None
    if now - last_seen >= TOUCH_EVERY:
        with runtime.db.write(actor=WEB_SESSIONS) as session:
            session.execute(
                update(WebSessionRow)
                .where(WebSessionRow.token_hash == token_hash)
                .values(last_seen_at=now)
            )
    return WebSession(token, csrf, user.guid, user.login, principal)


def _principal(
    runtime: Runtime, session: Session, user: UserRow, token_hash: str
) -> Principal | None:
    """The user's rights as now; cached like an API key's (changes to users and roles clear
    the cache on every node)."""
    cache = runtime.principals
    key = f"web-session:{token_hash}"
    hit = cache.get(key)
    if hit is not None:
        return hit
    generation = cache.generation
    try:
        principal = user_principal(session, user)
    except (Unauthenticated, Forbidden):
        return None
    cache.put(key, principal, generation=generation, expires_at=None)
    return principal


def end_web_session(runtime: Runtime, caller: Caller, token: str) -> None:
    """Sign out: the session ends on every node; the audit trail records it."""
    with runtime.db.write(actor=caller.actor()) as session:
        session.execute(delete(WebSessionRow).where(WebSessionRow.token_hash == _hash(token)))
        record_event(
            session,
            caller.actor(),
            action="logout",
            object_type="user",
            object_guid=caller.principal.guid,
            message=f"signed out of the web application as '{caller.principal.name}'",
        )


def _end(runtime: Runtime, token_hash: str) -> None:
    with runtime.db.write(actor=WEB_SESSIONS) as session:
        session.execute(delete(WebSessionRow).where(WebSessionRow.token_hash == token_hash))
