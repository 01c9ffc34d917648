"""`robofleet server`."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from robofleet.server.services.access.bootstrap import FirstStart
    from robofleet.server.settings import Settings

# The server's modules load only inside the commands that need them: every other command (and
# the robot agent, started as `robofleet robot`) would otherwise pay about a second of CPU
# importing them at each start.


@contextmanager
def collector_paused() -> Iterator[None]:
    """Start-up builds objects that live as long as the process (modules, models, routes,
    table metadata); the cyclic collector walking them again and again as they arrive cost a
    fifth of a start's CPU (2.65 s → 2.13 s importing the app, issue 13). The app's lifespan
    then collects once and sets them aside (runtime/heap.py)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def settings_from(**overrides: object) -> Settings:
    from robofleet.server.settings import SettingsError, load_settings

    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return load_settings(**given)
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def print_first_start(first: FirstStart, settings: Settings) -> None:
    """Shown once, on the console only, never in a log file."""
    lines = [
        "",
        "Robofleet created the account 'default' on this first start.",
        f"  admin login:    {first.admin_login}",
    ]
    if first.admin_password:
        lines.append(f"  admin password: {first.admin_password}   (shown only now)")
    if first.api_key:
        lines.append(f"  API key:        {first.api_key}   (shown only now)")
    lines.append(f"  API docs:       http://{settings.host}:{settings.port}/docs")
    lines.append("")
    print("\n".join(lines), flush=True)


def server(
    host: Annotated[str | None, typer.Option(help="Bind address [env ROBOFLEET_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port [env ROBOFLEET_PORT]")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory [env ROBOFLEET_DATA_DIR]")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [env ROBOFLEET_WORKERS]")
    ] = None,
) -> None:
    with collector_paused():
        import uvicorn

        from robofleet.server.db.blobs import BlobStoreUnavailable
        from robofleet.server.http_protocol import GatheringHttpToolsProtocol
        from robofleet.server.startup import log_config, prepare

        settings = settings_from(host=host, port=port, data_dir=data_dir, workers=workers)
        try:
            first = prepare(settings)
        except BlobStoreUnavailable as exc:
            typer.echo(f"cannot start: {exc}", err=True)
            raise typer.Exit(2) from None
        app = None
        if settings.workers == 1:  # several: each worker process builds its own
            from robofleet.server.app import create_app

            app = create_app(settings)
    if first is not None:
        print_first_start(first, settings)
    # Worker processes read their settings from the environment: pass the overrides on.
    for name in ("host", "port", "data_dir", "workers"):
        os.environ[f"ROBOFLEET_{name.upper()}"] = str(getattr(settings, name))
    config = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": log_config(settings),
        "access_log": False,
        "server_header": False,  # no "server: uvicorn": the answer names no software version
        "http": GatheringHttpToolsProtocol,  # an answer's head and body in one write
        "timeout_keep_alive": settings.keep_alive_seconds,
        "timeout_graceful_shutdown": 5,
    }
    if app is None:
        from robofleet.server.runtime.metrics.exposition import multiprocess_folder

        # The workers share their metrics through files in one folder, named to them in the
        # environment before they start (prometheus-client's multiprocess mode).
        with multiprocess_folder():
            uvicorn.run("robofleet.server.asgi:app", workers=settings.workers, **config)  # type: ignore[arg-type]
    else:
        uvicorn.run(app, **config)  # type: ignore[arg-type]
    sys.exit(0)
