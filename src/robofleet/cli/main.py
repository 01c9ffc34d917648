"""The `robofleet` command."""

from __future__ import annotations

import typer

from robofleet.cli import (
    db_commands,
    job_commands,
    process_commands,
    queue_commands,
    robot_commands,
    server_commands,
)

app = typer.Typer(
    name="robofleet",
    help="Robofleet: orchestrator for software robots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("server", help="Run the server (API, web UI, scheduler).")(server_commands.server)
app.command("robot", help="Run a robot agent that takes and runs jobs.")(robot_commands.robot)
app.add_typer(db_commands.app, name="db", help="Database schema commands.")
app.add_typer(process_commands.app, name="process", help="Publish process versions.")
app.add_typer(job_commands.app, name="job", help="Start, follow and list jobs.")
app.add_typer(queue_commands.app, name="queue", help="Add tasks to queues, list queues.")
app.add_typer(queue_commands.tasks_app, name="task", help="List the tasks of a queue.")
