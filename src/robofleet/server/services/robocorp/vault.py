"""Vault secrets = credential and text resources a robot reaches (its scope), sealed with the
vault's transit encryption (domain.vault_transit; docs/decisions.md has the mapping).

Read: a credential is {"username": Text, "password": Password}; a text resource whose Text
is a JSON object is that object, any other text {"value": Text}. Write: {"username",
"password"} (password present, nothing else) makes a credential, {"value": <string>} a
text, anything else a text holding the JSON object.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from robofleet.server.db.tables import ResourceRow
from robofleet.server.domain.errors import MalformedRequest, NotFound
from robofleet.server.domain.refs import new_guid
from robofleet.server.domain.vault_transit import (
    SCHEME,
    TransitError,
    open_from_client,
    public_key_base64,
    seal_for_client,
)
from robofleet.server.runtime import Runtime
from robofleet.server.services.access.lookup import scoped
from robofleet.server.services.resources.crud import CREDENTIALS, TEXT, associated_data
from robofleet.server.services.resources.scope import ONE_ROBOT, Scope
from robofleet.server.services.robocorp.context import Call, authorize, parse_json

PUBLIC_KEY_NAME = "publicKey"


def public_key(runtime: Runtime) -> str:
    return public_key_base64(runtime.vault_key.private_key())


def _visible(session: Session, caller_query: Any, name: str) -> ResourceRow | None:
    rows = session.scalars(
        caller_query.where(ResourceRow.name == name, ResourceRow.type.in_([CREDENTIALS, TEXT]))
        .order_by(ResourceRow.robot_type, ResourceRow.id)
        .limit(1)
    )
    return next(iter(rows), None)


def _values(runtime: Runtime, session: Session, row: ResourceRow) -> dict[str, Any]:
    if row.type == CREDENTIALS:
        password = (
            runtime.secret_box.open(session, row.password_ciphertext, associated_data(row))
            if row.password_ciphertext
            else ""
        )
        return {"username": row.text, "password": password}
    try:
        parsed = json.loads(row.text)
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"value": row.text}


def read_secret(
    runtime: Runtime, call: Call, name: str, scheme: str | None, client_key: str | None
) -> dict[str, Any]:
    if scheme != SCHEME:
        raise MalformedRequest(f"encryptionScheme must be '{SCHEME}'")
    if not client_key:
        raise MalformedRequest("publicKey (base64 DER of an RSA public key) is required")
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        row = _visible(session, scoped(ResourceRow, run.caller), name)
        if row is None:
            raise NotFound("secret", name)
        values = _values(runtime, session, row)
        description = row.description
    try:
        sealed = seal_for_client(values, client_key)
    except TransitError as exc:
        raise MalformedRequest(str(exc)) from None
    encryption = {k: sealed[k] for k in ("encryptionScheme", "encryptedAES", "authTag", "iv")}
    return {
        "name": name,
        "description": description,
        "value": sealed["value"],
        "encryption": encryption,
    }


def stored_form(values: dict[str, Any]) -> tuple[int, str, str | None]:
    """(resource type, Text, password or None) for the values a robot sets."""
    keys = set(values)
    if "password" in keys and keys <= {"username", "password"}:
        return CREDENTIALS, str(values.get("username") or ""), str(values["password"])
    if keys == {"value"} and isinstance(values["value"], str):
        return TEXT, values["value"], None
    return TEXT, json.dumps(values), None


def write_secret(runtime: Runtime, call: Call, name: str, body: bytes) -> None:
    """Creates or replaces the secret. The robot writes in its own scope: a secret it reads
    from a wider scope (group, all robots) is shadowed by a robot-scoped one, never changed."""
    data = parse_json(body, "body")
    if not isinstance(data, dict):
        raise MalformedRequest("the body must be a JSON object")
    if not name.strip() or name == PUBLIC_KEY_NAME or len(name) > 256:
        raise MalformedRequest("the secret name must be 1 to 256 characters and not 'publicKey'")
    try:
        values = open_from_client(
            data.get("value"), data.get("encryption"), runtime.vault_key.private_key()
        )
    except TransitError as exc:
        raise MalformedRequest(str(exc)) from None
    kind, text, password = stored_form(values)
    description = data.get("description")
    run = authorize(runtime, call)
    with runtime.db.write(actor=run.caller.actor()) as session:
        scope = Scope(ONE_ROBOT, robot_id=run.robot_id)
        own = scoped(ResourceRow, run.caller).where(ResourceRow.scope_key == scope.key)
        row = _visible(session, own.with_for_update(), name)
        if row is None:
            row = ResourceRow(
                guid=new_guid(),
                account_id=run.caller.account_id,
                name=name,
                robot_type=scope.robot_type,
                robot_id=scope.robot_id,
                scope_key=scope.key,
            )
            session.add(row)
        row.type = kind
        row.text = text
        if isinstance(description, str):
            row.description = description
        session.flush()
        if password is None:
            row.password_ciphertext = row.password_key_id = None
        else:
            sealed = runtime.secret_box.seal(session, password, associated_data(row))
            row.password_ciphertext, row.password_key_id = sealed.token, sealed.key_id
