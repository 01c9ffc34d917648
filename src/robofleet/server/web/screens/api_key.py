"""API: the key that API requests send, assigned or refreshed here and shown only once;
the reference is the server's Swagger page (/docs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from robofleet.server.schemas.identity import ApiKeyAssign, ApiKeyIssued, ApiKeyRefresh
from robofleet.server.services.access.api_keys import assign_key, read_keys, refresh_key
from robofleet.server.web.pages import Page, PageDep, WebRoute, confirmed

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _owner(page: Page) -> dict[str, Any]:
    """An administrator manages the account's key; anyone else their own key."""
    principal = page.caller.principal
    if principal.permissions.everything or principal.user_id is None:
        return {}
    return {"user": principal.guid}


def _issued_page(page: Page, issued: ApiKeyIssued, verb: str) -> Response:
    response = page.render("api_key.html", keys=None, issued=issued, verb=verb, own=_owner(page))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/api-key")
async def api_key_page(page: PageDep) -> Response:
    keys = await page.call(read_keys)
    return page.render("api_key.html", keys=keys, issued=None, own=_owner(page))


@router.post("/api-key/assign")
async def assign(page: PageDep) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Assign a new API key? The current key stops working at once.", form)
    issued = await page.call(assign_key, ApiKeyAssign.model_validate(_owner(page)))
    return _issued_page(page, issued, "assigned")


@router.post("/api-key/refresh")
async def refresh(page: PageDep) -> Response:
    form = await page.form()
    if not confirmed(form):
        return page.confirm("Refresh the API key? The current key stops working at once.", form)
    issued = await page.call(refresh_key, ApiKeyRefresh.model_validate(_owner(page)))
    return _issued_page(page, issued, "refreshed")
