"""The web application's routes and its static files, mounted by the app at `/`."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from robofleet.server.web.pages import not_found_page
from robofleet.server.web.screens import (
    accounts,
    api_key,
    audit,
    calendars,
    folders,
    jobs,
    logs,
    overview,
    processes,
    queues,
    resources,
    robot_groups,
    robots,
    roles,
    signin,
    storage,
    triggers,
    users,
)

ROUTERS: list[APIRouter] = [
    signin.router,
    overview.router,
    robots.router,
    robot_groups.router,
    processes.router,
    jobs.router,
    resources.router,
    calendars.router,
    storage.router,
    queues.router,
    triggers.router,
    logs.router,
    accounts.router,
    users.router,
    roles.router,
    folders.router,
    audit.router,
    api_key.router,
]


def mount_web(app: FastAPI) -> None:
    static = files("robofleet.server.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.state.not_found_page = not_found_page
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
