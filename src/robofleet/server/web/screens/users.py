"""Users of the account: their logins, passwords, roles and the blocked flag."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.schemas.identity import RoleRead, UserCreate, UserUpdate
from robofleet.server.services.access.roles import list_roles
from robofleet.server.services.access.users import (
    create_user,
    delete_user,
    list_users,
    read_user,
    update_user,
)
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed
from robofleet.server.web.screens.admin_forms import flag, text
from robofleet.server.web.tables import Column, Row, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _login(row: Row) -> Markup:
    return Markup('<a href="/users/{}">{}</a>').format(row["guid"], row["login"])


COLUMNS: Final = (
    Column("login", "Login", render=_login),
    Column("name", "Name"),
    Column("email", "Email"),
    Column("department", "Department"),
    Column("roles", "Roles"),
    Column("blocked", "Blocked"),
    Column("last_login_at", "Last sign-in"),
    Column("guid", "GUID"),
)


@router.get("/users")
async def users_page(page: PageDep) -> Response:
    users = await page.call(list_users)
    rows = [
        {
            "guid": user.guid,
            "login": user.login,
            "name": f"{user.first_name} {user.last_name}".strip(),
            "email": user.email,
            "department": user.department,
            "roles": ", ".join(user.roles),
            "blocked": user.is_blocked,
            "last_login_at": user.last_login_at,
        }
        for user in users
    ]
    view = table_view(page.request, rows, COLUMNS, default_sort="login")
    if view.wants_csv:
        return view.csv_response("users")
    return page.render(
        "admin_list.html",
        title="Users",
        intro="People who sign in to this account; their roles give their rights.",
        view=view,
        new_url="/users/new" if page.can(Screen.USER, Action.CREATE) else "",
        new_label="New user",
    )


async def _roles(page: Page) -> list[RoleRead] | None:
    """The roles to choose from, when the user may read them (else a text field)."""
    if not page.can(Screen.ROLE, Action.READ):
        return None
    roles: list[RoleRead] = await page.call(list_roles)
    return roles


@router.get("/users/new")
async def new_user(page: PageDep) -> Response:
    return page.render("user_form.html", user=None, roles=await _roles(page))


def _fields(form: FormData) -> dict[str, Any]:
    roles: list[str] | str = [str(v) for v in form.getlist("roles") if str(v).strip()]
    if "roles_text" in form:
        roles = text(form, "roles_text")
    return {
        "login": text(form, "login"),
        "first_name": text(form, "first_name"),
        "last_name": text(form, "last_name"),
        "email": text(form, "email"),
        "department": text(form, "department"),
        "roles": roles,
        "is_blocked": flag(form, "is_blocked"),
    }


@router.post("/users/new")
async def add_user(page: PageDep) -> Response:
    form = await page.form()
    data = UserCreate.model_validate({**_fields(form), "password": text(form, "password")})
    await page.call(create_user, data)
    return page.redirect("/users", message=f"User '{data.login}' created.")


@router.get("/users/{guid}")
async def user_page(page: PageDep, guid: str) -> Response:
    user = await page.call(read_user, guid)
    return page.render("user_form.html", user=user, roles=await _roles(page))


@router.post("/users/{guid}")
async def change_user(page: PageDep, guid: str) -> Response:
    form = await page.form()
    fields: dict[str, Any] = {"guid": guid, **_fields(form)}
    password = text(form, "password")
    if password:
        fields["password"] = password
    data = UserUpdate.model_validate(fields)
    await page.call(update_user, data)
    return page.redirect("/users", message=f"User '{data.login}' saved.")


@router.post("/users/{guid}/delete")
async def remove_user(page: PageDep, guid: str) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Delete this user?", form)
    await page.call(delete_user, guid)
    return page.redirect("/users", message="User deleted.")
