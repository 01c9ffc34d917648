"""First start: an empty database gets the `default` account and its `admin` user."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from robofleet.server.db.system_actors import FIRST_START
from robofleet.server.db.tables import AccountRow
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.security import new_password
from robofleet.server.schemas.identity import AccountCreate
from robofleet.server.services.access.accounts import provision_account

DEFAULT_ACCOUNT = "default"
ADMIN_LOGIN = "admin"


@dataclass(frozen=True)
class FirstStart:
    """What was generated on first start; the caller prints it once."""

    account_guid: str
    admin_login: str
    admin_password: str | None
    api_key: str | None


def ensure_first_account(
    runtime: Runtime, *, admin_password: str | None, api_key: str | None
) -> FirstStart | None:
    """Create the first account if none exists. Later starts change nothing."""
    with runtime.db.write(actor=FIRST_START) as session:
        if session.scalar(select(AccountRow.id).limit(1)) is not None:
            return None
        password = admin_password or new_password()
        made = provision_account(
            session,
            AccountCreate(
                login=ADMIN_LOGIN,
                password=password,
                can_create_accounts=True,
                first_name="Administrator",
            ),
            parent_id=None,
            hashing=runtime.settings.password_hashing,
            api_key=api_key,
        )
        # The first account is called `default`; its login user is `admin`.
        made.account.login = DEFAULT_ACCOUNT
        return FirstStart(
            account_guid=made.account.guid,
            admin_login=ADMIN_LOGIN,
            admin_password=None if admin_password else password,
            api_key=None if api_key else made.api_key,
        )
