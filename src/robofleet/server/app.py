"""The composition root: builds the runtime and the ASGI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Protocol

from fastapi import FastAPI

from robofleet import __version__
from robofleet.server.api.body_limit import BodyLimitMiddleware
from robofleet.server.api.errors import install_error_handlers
from robofleet.server.api.fast.front import FastFront
from robofleet.server.api.fast.fronted_app import FrontedApp
from robofleet.server.api.openapi import build_openapi, operation_id
from robofleet.server.api.request_metrics import RequestMetrics, RequestSeries
from robofleet.server.api.routes import (
    access_folder,
    account,
    api_key,
    audit,
    health,
    job,
    process,
    process_version,
    queue,
    resource,
    resource_group,
    robocorp,
    robot,
    robot_group,
    roboteasy,
    role,
    schedule,
    storage_file,
    storage_folder,
    task,
    user,
)
from robofleet.server.api.routes import log as log_routes
from robofleet.server.api.routes import metrics as metrics_routes
from robofleet.server.db.connection_slots import SlotUse
from robofleet.server.db.driver_pool import DriverPool
from robofleet.server.db.notify import PgListener
from robofleet.server.runtime import Runtime, heap
from robofleet.server.runtime.arrivals import CHANNEL as ARRIVALS_CHANNEL
from robofleet.server.runtime.caches import CHANNEL as CACHE_CHANNEL
from robofleet.server.runtime.caches import Caches
from robofleet.server.runtime.wakeups import CHANNEL, LOG_CHANNEL
from robofleet.server.runtime_setup import build_runtime
from robofleet.server.scheduler.loop import Scheduler
from robofleet.server.scheduler.triggers import WatchedQueues
from robofleet.server.settings import Settings
from robofleet.server.web.routes import mount_web

ROUTERS = [
    api_key.router,
    robot.router,
    robot_group.router,
    process.router,
    process_version.router,
    job.router,
    queue.router,
    task.router,
    resource.router,
    resource_group.router,
    schedule.router,
    log_routes.router,
    account.router,
    user.router,
    role.router,
    access_folder.router,
    audit.router,
    storage_folder.router,
    storage_file.router,
    storage_file.streaming_router,
    roboteasy.router,
    robocorp.router,
    robocorp.upload_router,
    health.router,
]
METRICS_ROUTERS = [metrics_routes.router]
"""Served only with settings.metrics_enabled."""


def create_app(settings: Settings, runtime: Runtime | None = None) -> FrontedApp:
    runtime = runtime or build_runtime(settings)
    if runtime.metrics:
        runtime.metrics.driver_pool_use = partial(_driver_pool_use, runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.wakeups.bind(asyncio.get_running_loop())
        if runtime.log_wakeups:
            runtime.log_wakeups.bind(asyncio.get_running_loop())
        caches = Caches([runtime.principals, runtime.queues, runtime.documents])
        stop_watching = caches.watch(runtime.db)
        parts = _background_parts(settings, runtime, caches)
        for part in parts:
            part.start()
        await _open_driver_pool(settings, runtime)
        heap.settle_after_startup()
        try:
            yield
        finally:
            await _close_driver_pool(runtime)
            for part in reversed(parts):
                part.stop()
            stop_watching()
            runtime.db.dispose()
            heap.release_at_shutdown()

    app = FrontedApp(
        title="Robofleet",
        version=__version__,
        description=(
            "Orchestrator for software robots. Speaks the Sherpa Orchestrator API "
            "(`/api/<entity>/<verb>`) and the Roboteasy integration API. Requests accept JSON "
            "or form-encoded bodies, PascalCase or snake_case keys, and related objects by "
            "id, GUID or name."
        ),
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        strict_content_type=False,
        # FastAPI looks for configured OpenTelemetry providers on every request unless told
        # not to (docs/decisions.md, issue 13): off unless a deployment asks for tracing.
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    _mount(app, settings, runtime)

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class _Background(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def _background_parts(settings: Settings, runtime: Runtime, caches: Caches) -> list[_Background]:
    """The threads a server runs beside its requests, in the order they start."""
    parts: list[_Background] = []
    if runtime.db.dialect.notifies:
        handlers = {CHANNEL: runtime.wakeups.on_notify, CACHE_CHANNEL: caches.on_notify}
        if runtime.log_wakeups:
            handlers[LOG_CHANNEL] = runtime.log_wakeups.on_notify
        if runtime.task_arrivals:
            handlers[ARRIVALS_CHANNEL] = runtime.task_arrivals.on_notify
        parts.append(
            PgListener(settings.resolved_database_url, handlers, on_reconnect=caches.invalidate_all)
        )
    if settings.scheduler_enabled:
        parts.append(Scheduler(runtime))
    elif runtime.task_arrivals and runtime.db.dialect.notifies:
        # A node without a scheduler still announces task adds to the leader's triggers.
        parts.append(WatchedQueues(runtime))
    if runtime.metrics:
        parts.append(runtime.metrics)
    if runtime.planner_statistics:
        parts.append(runtime.planner_statistics)
    return parts


def _driver_pool_use(runtime: Runtime) -> SlotUse | None:
    """The lean pool's use now, for the metrics; None while it is not open (or on SQLite)."""
    pool = runtime.driver_pool
    return pool.use() if pool is not None else None


async def _open_driver_pool(settings: Settings, runtime: Runtime) -> None:
    """PostgreSQL's async driver pool for the lean front, on the server's loop (the front
    awaits its take, finish and renew statements there: services.tasks.on_driver)."""
    if settings.fast_path and runtime.db.dialect.one_statement_claims:
        runtime.driver_pool = DriverPool(runtime.db.engine)
        await runtime.driver_pool.open()


async def _close_driver_pool(runtime: Runtime) -> None:
    if runtime.driver_pool:
        pool, runtime.driver_pool = runtime.driver_pool, None
        await pool.close()


def _mount(app: FrontedApp, settings: Settings, runtime: Runtime) -> None:
    """The middleware and the routes."""
    metrics = runtime.metrics is not None
    if settings.fast_path:
        front_options: dict[str, Any] = {
            "runtime": runtime,
            "routes": app.router.routes,
            "handlers": app.exception_handlers,
            "threads": settings.fast_path_threads,
            "max_body": settings.max_body_bytes,
        }
        if settings.opentelemetry:
            # Inside FastAPI's telemetry layer, which opens each request's span; added before
            # the body limit, so the limit wraps it (the last added is outermost).
            app.add_middleware(FastFront, traced=True, **front_options)
        else:
            app.front = FastFront(
                app.behind_front,
                outermost=True,
                series=RequestSeries() if metrics else None,
                **front_options,
            )
    app.add_middleware(
        BodyLimitMiddleware,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        max_storage=settings.storage_max_upload_bytes,
    )
    if metrics:
        # Outermost of our middleware: it times and counts every answer, 413s included.
        app.add_middleware(RequestMetrics)
    for router in ROUTERS + (METRICS_ROUTERS if metrics else []):
        # Flat, not include_router: FastAPI matches included routers route by route twice
        # per request, which cost more than a whole small request here. Paths and tags are
        # already set on each router.
        app.router.routes.extend(router.routes)
    mount_web(app)
