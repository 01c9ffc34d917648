"""Overview: the fleet at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Response

from robofleet.server.web.pages import PageDep, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/")
def overview(page: PageDep) -> Response:
    return page.render("overview.html")
