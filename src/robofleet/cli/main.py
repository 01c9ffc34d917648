"""The `robofleet` command."""

from __future__ import annotations

import typer

from robofleet.cli import db_commands, server_commands

app = typer.Typer(
    name="robofleet",
    help="Robofleet: orchestrator for software robots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("server", help="Run the server (API, web UI, scheduler).")(server_commands.server)
app.add_typer(db_commands.app, name="db", help="Database schema commands.")
