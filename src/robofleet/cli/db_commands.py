"""`robofleet db ...`."""

from __future__ import annotations

import typer

from robofleet.cli.server_commands import settings_from

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade", help="Apply pending migrations to the configured database.")
def upgrade() -> None:
    from robofleet.server.db import migrate
    from robofleet.server.runtime_setup import build_runtime

    settings = settings_from()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings)
    try:
        with migrate.startup_lock(runtime.db.engine):  # nodes starting meanwhile wait
            migrate.upgrade(runtime.db.engine)
        typer.echo(f"database at revision {migrate.current_revision(runtime.db.engine)}")
    finally:
        runtime.db.dispose()


@app.command("current", help="Print the database's schema revision.")
def current() -> None:
    from robofleet.server.db import migrate
    from robofleet.server.runtime_setup import build_runtime

    runtime = build_runtime(settings_from())
    try:
        typer.echo(migrate.current_revision(runtime.db.engine) or "empty")
    finally:
        runtime.db.dispose()
