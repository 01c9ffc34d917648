"""The web application's routes and its static files, mounted by the app at `/`."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from robofleet.server.web.screens import (
    jobs,
    overview,
    processes,
    queues,
    resources,
    robot_groups,
    robots,
    signin,
    storage,
    triggers,
)

ROUTERS: list[APIRouter] = [
    signin.router,
    overview.router,
    robots.router,
    robot_groups.router,
    processes.router,
    jobs.router,
    resources.router,
    storage.router,
    queues.router,
    triggers.router,
]


def mount_web(app: FastAPI) -> None:
    static = files("robofleet.server.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
