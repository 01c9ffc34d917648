"""Accounts (tenants): an account manager creates, edits and deletes the accounts it made;
any account's administrator sees its own account and changes its own security setting."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from robofleet.server.schemas.identity import AccountCreate, AccountRead, AccountUpdate
from robofleet.server.services.access.accounts import (
    create_account,
    delete_account,
    list_accounts,
    read_account,
    update_account,
)
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.screens.admin_forms import flag, text
from robofleet.server.web.tables import Column, Row, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)

TEXT_FIELDS: Final = (
    ("login", "Login"),
    ("company", "Company"),
    ("department", "Department"),
    ("first_name", "Administrator's first name"),
    ("last_name", "Administrator's last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("time_zone", "Time zone"),
    ("language", "Language"),
)


def _login(row: Row) -> Markup:
    return Markup('<a href="/accounts/{}">{}</a>').format(row["guid"], row["login"])


COLUMNS: Final = (
    Column("login", "Login", render=_login),
    Column("company", "Company"),
    Column("department", "Department"),
    Column("email", "Email"),
    Column("can_create_accounts", "Creates accounts"),
    Column("require_robot_secret", "Robots need their secret"),
    Column("created_at", "Created"),
    Column("guid", "GUID"),
)


def manages(page: Page) -> bool:
    return page.caller.principal.can_manage_accounts


@router.get("/accounts")
async def accounts_page(page: PageDep) -> Response:
    accounts: list[AccountRead]
    if manages(page):
        accounts = await page.call(list_accounts)
    else:
        accounts = [await page.call(read_account, page.caller.principal.account_guid)]
    rows = [account.model_dump() for account in accounts]
    view = table_view(page.request, rows, COLUMNS, default_sort="login")
    if view.wants_csv:
        return view.csv_response("accounts")
    return page.render(
        "admin_list.html",
        title="Accounts",
        intro="Each account is a tenant of its own: its robots, processes, users and data."
        + ("" if manages(page) else " This account may not create others: it sees itself."),
        view=view,
        new_url="/accounts/new" if manages(page) else "",
        new_label="New account",
    )


@router.get("/accounts/new")
def new_account(page: PageDep) -> Response:
    return page.render("account_form.html", account=None, fields=TEXT_FIELDS, full=True)


def _fields(form: FormData) -> dict[str, Any]:
    return {
        **{name: text(form, name) for name, _ in TEXT_FIELDS},
        "can_create_accounts": flag(form, "can_create_accounts"),
        "require_robot_secret": flag(form, "require_robot_secret"),
    }


@router.post("/accounts/new")
async def add_account(page: PageDep) -> Response:
    form = await page.form()
    fields = {key: value for key, value in _fields(form).items() if value != ""}
    data = AccountCreate.model_validate({**fields, "password": text(form, "password")})
    made = await page.call(create_account, data)
    response = page.render("account_created.html", made=made)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/accounts/{guid}")
async def account_page(page: PageDep, guid: str) -> Response:
    account = await page.call(read_account, guid)
    return page.render("account_form.html", account=account, fields=TEXT_FIELDS, full=manages(page))


@router.post("/accounts/{guid}")
async def change_account(page: PageDep, guid: str) -> Response:
    form = await page.form()
    fields: dict[str, Any] = {"guid": guid}
    if manages(page):
        fields |= _fields(form)
        if text(form, "password"):
            fields["password"] = text(form, "password")
    else:  # an account's own administrator: its security setting only
        fields["require_robot_secret"] = flag(form, "require_robot_secret")
    await page.call(update_account, AccountUpdate.model_validate(fields))
    return page.redirect("/accounts", message="Account saved.")


@router.post("/accounts/{guid}/delete")
async def remove_account(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this account and everything in it?", form)
    await page.call(delete_account, guid)
    return page.redirect("/accounts", message="Account deleted.")
